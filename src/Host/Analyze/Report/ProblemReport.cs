namespace Hypervisor.Host.Analyze.Report;

/// <summary>Lines skipped (never fatal): counts by kind and the first few locations.</summary>
internal sealed record ProblemReport(long Total, IReadOnlyDictionary<string, long> ByKind, IReadOnlyList<ProblemSample> First);
