using YamlDotNet.Core;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Collects the errors of one load, in the order found; shared by every reader of the document.</summary>
internal sealed class ScenarioErrorSink(string file)
{
    private readonly List<ScenarioError> _errors = [];

    /// <summary>The file path or display name every error carries.</summary>
    public string File { get; } = file;

    /// <summary>Number of errors so far; a reader compares counts to know whether its own part failed.</summary>
    public int Count => _errors.Count;

    /// <summary>Records an error at a YAML position.</summary>
    public void Add(Mark at, string path, string message) =>
        _errors.Add(new ScenarioError(File, (int)at.Line, (int)at.Column, path, message));

    /// <summary>Records an error about the whole file (no position).</summary>
    public void AddFileError(string message) => _errors.Add(new ScenarioError(File, 0, 0, string.Empty, message));

    /// <summary>The errors sorted by position, file order being the order a person fixes them in.</summary>
    public IReadOnlyList<ScenarioError> Sorted() =>
        [.. _errors.Select((e, i) => (e, i)).OrderBy(p => p.e.Line).ThenBy(p => p.e.Column).ThenBy(p => p.i).Select(p => p.e)];
}
