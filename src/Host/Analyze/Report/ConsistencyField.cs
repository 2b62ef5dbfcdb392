namespace Hypervisor.Host.Analyze.Report;

/// <summary>One counter recomputed from the log next to the run summary's value.</summary>
internal sealed record ConsistencyField(string Field, long FromLog, long FromSummary, bool Match);
