namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// The callback of an interval subscription (<c>struct mmu_interval_notifier_ops</c>). Called for every start/end
/// section whose range overlaps the subscription's interval, before any ordinary notifier's start.
/// </summary>
public interface IIntervalNotifierOps
{
    /// <summary>
    /// <c>ops-&gt;invalidate</c>. The implementation must take its own "user lock" (blocking only when
    /// <see cref="NotifierRange.Blockable"/>), call <see cref="IntervalNotifier.SetSeq"/> with
    /// <paramref name="currentSeq"/> under it, and drop its mappings of the range before returning: on return the
    /// caller may change the primary PTEs. The same lock must be held around <see cref="IntervalNotifier.ReadRetry"/>
    /// and the install of new mappings on the fault side.
    /// </summary>
    /// <returns>
    /// True when done. False only for a non-blockable range whose work would have to wait (<c>-EAGAIN</c>): then the
    /// chain stops, calls no later interval or ordinary notifier, and the caller changes nothing and calls no end.
    /// False under a blockable range is a protocol violation and is ignored.
    /// </returns>
    bool Invalidate(IntervalNotifier subscription, in NotifierRange range, ulong currentSeq);
}
