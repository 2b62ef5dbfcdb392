namespace Hypervisor.GuestModel.Clients;

/// <summary>One client's counters at the end of a run (the summary's <c>Clients</c>), for breakdowns by client and kind.</summary>
public sealed record ClientSummary(
    string Name,
    string Kind,
    string Guest,
    long Operations,
    long Invalidations,
    long Refusals,
    long Retries,
    long Faults,
    long EntriesDropped,
    double CallbackMicros,
    long CoherenceChecks);
