using System.Text;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>Counts the lines that could not be analysed, by kind, and keeps where the first few are.</summary>
internal sealed class ProblemCollector
{
    /// <summary>How many locations are kept.</summary>
    public const int Samples = 10;

    private const int SnippetChars = 80;

    private readonly long[] _byKind = new long[Enum.GetValues<ProblemKind>().Length];
    private readonly List<ProblemSample> _first = [];

    public long Total { get; private set; }

    /// <summary>Counts a problem; <paramref name="detail"/> is only evaluated for the first few.</summary>
    public void Add(string file, long line, ProblemKind kind, Func<string> detail)
    {
        Total++;
        _byKind[(int)kind]++;
        if (_first.Count < Samples)
        {
            _first.Add(new ProblemSample(file, line, Name(kind), detail()));
        }
    }

    /// <summary>The start of a line as text, for a problem's detail.</summary>
    public static string Snippet(ReadOnlySpan<byte> line)
    {
        var text = Encoding.UTF8.GetString(line[..Math.Min(line.Length, SnippetChars * 4)]);
        return text.Length <= SnippetChars ? text : string.Concat(text.AsSpan(0, SnippetChars), "...");
    }

    public ProblemReport ToReport() => new(
        Total,
        Enum.GetValues<ProblemKind>().Where(k => _byKind[(int)k] != 0).ToDictionary(Name, k => _byKind[(int)k]),
        [.. _first]);

    /// <summary>The kebab-case name of a problem kind, as reports show it.</summary>
    public static string Name(ProblemKind kind) => kind switch
    {
        ProblemKind.NotJson => "not-json",
        ProblemKind.Truncated => "truncated",
        ProblemKind.NoEventId => "no-event-id",
        ProblemKind.UnknownEvent => "unknown-event",
        ProblemKind.Oversized => "oversized",
        _ => kind.ToString(),
    };
}
