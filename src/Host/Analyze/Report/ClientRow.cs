namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// One secondary MMU other than KVM (or one kind of them) over the runs whose summaries report it: invalidations,
/// refused non-blockable starts, fault retries, faults, device entries dropped and time in invalidation callbacks.
/// </summary>
internal sealed record ClientRow(
    string Key,
    string Kind,
    long Runs,
    long Operations,
    long Invalidations,
    long Refusals,
    long Retries,
    long Faults,
    long EntriesDropped,
    double CallbackMicros,
    double CallbackMicrosPerInvalidation);
