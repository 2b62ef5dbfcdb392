namespace Hypervisor.Host.Analyze.Report;

/// <summary>A total and its breakdown by a key (violations by kind, retry bursts by guest, ...).</summary>
internal sealed record CountReport(long Total, IReadOnlyDictionary<string, long> ByKey);
