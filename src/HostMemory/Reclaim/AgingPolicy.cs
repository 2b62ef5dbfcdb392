namespace Hypervisor.HostMemory.Reclaim;

/// <summary>Which aging notifier the host calls after clearing the CPU accessed bit.</summary>
public enum AgingPolicy : byte
{
    /// <summary><c>ptep_clear_flush_young_notify</c>: the secondary clears its accessed bits and flushes its TLB.</summary>
    ClearFlushYoung,

    /// <summary><c>ptep_clear_young_notify</c>: clear without the flush (cheaper, may miss accesses through cached translations).</summary>
    ClearYoung,
}
