namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// What was read: files, lines, recognised events (<paramref name="Events"/>), those that passed the filters
/// (<paramref name="EventsAnalyzed"/>, also by name), the first and last timestamps, and the skipped lines.
/// </summary>
internal sealed record InputReport(
    IReadOnlyList<InputFile> Files,
    string Filter,
    long Lines,
    long Events,
    long EventsAnalyzed,
    IReadOnlyDictionary<string, long> EventsByName,
    DateTimeOffset? FirstTimestamp,
    DateTimeOffset? LastTimestamp,
    ProblemReport Problems);
