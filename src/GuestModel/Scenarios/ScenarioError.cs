namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// One problem in a scenario file, positioned for a person: <c>file:line:column: path: message</c>, as compilers print.
/// </summary>
/// <param name="File">The file path or display name.</param>
/// <param name="Line">1-based line, or 0 when the problem concerns the whole file (not found, unreadable).</param>
/// <param name="Column">1-based column, or 0 with <paramref name="Line"/>.</param>
/// <param name="Path">The field path (<c>guests[0].vcpus</c>), or empty for syntax and file problems.</param>
/// <param name="Message">What was expected and what was found.</param>
public sealed record ScenarioError(string File, int Line, int Column, string Path, string Message)
{
    /// <summary>The error on one line: <c>config/scenarios/x.yaml:12:5: guests[0].vcpus: expected an integer &gt;= 1, got 0</c>.</summary>
    public override string ToString()
    {
        var position = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        return Path.Length > 0 ? $"{position}: {Path}: {Message}" : $"{position}: {Message}";
    }
}
