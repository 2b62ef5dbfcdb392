namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// Fault-side counters from each (RunId, Guest)'s counted statistics event (the <c>Final</c> one when present, else
/// the last): <paramref name="Streams"/> such pairs were seen, <paramref name="FinalStreams"/> of them with a final event.
/// </summary>
internal sealed record FaultReport(
    long Accesses,
    long TlbHits,
    long Faults,
    long FaultRetries,
    double RetriesPerFault,
    IReadOnlyDictionary<string, long> RetriesByReason,
    long MmioExits,
    int Streams,
    int FinalStreams);
