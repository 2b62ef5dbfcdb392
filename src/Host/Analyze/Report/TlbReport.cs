namespace Hypervisor.Host.Analyze.Report;

/// <summary>TLB shootdowns: invalidations that flushed, and the flush count and wait from the statistics events.</summary>
internal sealed record TlbReport(long InvalidationsWithFlush, long FlushesFromStatistics, double FlushWaitMicros, double WaitMicrosPerFlush);
