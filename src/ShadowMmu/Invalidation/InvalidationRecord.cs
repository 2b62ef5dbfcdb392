using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>One invalidation as the VM handled it, handed to an observer outside the MMU lock (for logs).</summary>
/// <param name="Guest">The VM's name.</param>
/// <param name="Cause">The host operation behind it.</param>
/// <param name="Event">The kernel event hint.</param>
/// <param name="Start">First hva.</param>
/// <param name="End">One past the last hva.</param>
/// <param name="SptesZapped">Shadow entries actually removed.</param>
/// <param name="VcpusFlushed">vCPUs in guest mode the TLB shootdown had to wait for.</param>
/// <param name="Duration">Time spent in the callback, lock wait included.</param>
/// <param name="SinglePage">True for a legacy <c>InvalidatePage</c>, false for a range start or a release.</param>
/// <param name="TlbFlushed">True if the callback shot down the vCPUs' TLBs.</param>
public readonly record struct InvalidationRecord(
    string Guest,
    InvalidationCause Cause,
    NotifierEvent Event,
    Hva Start,
    Hva End,
    int SptesZapped,
    int VcpusFlushed,
    TimeSpan Duration,
    bool SinglePage,
    bool TlbFlushed)
{
    public ulong Pages => (End.Value - Start.Value) >> Hva.PageShift;
}
