namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>The counters of a synthetic run summary that analyze checks against the log.</summary>
internal sealed record Totals(long Invalidations, long SptesZapped, long TlbFlushes, long FaultRetries, long Faults = 100);
