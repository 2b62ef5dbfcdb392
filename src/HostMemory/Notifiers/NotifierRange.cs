namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// The range an invalidation covers (<c>struct mmu_notifier_range</c>): [<see cref="Start"/>, <see cref="End"/>),
/// page aligned, end exclusive.
/// </summary>
/// <param name="Start">First byte of the range.</param>
/// <param name="End">One past the last byte.</param>
/// <param name="Event">The kernel's event hint.</param>
/// <param name="Cause">The host operation that caused it (for statistics).</param>
/// <param name="Blockable">
/// False on the OOM-reaper path (<c>mmu_notifier_invalidate_range_start_nonblock</c>): the callee must not
/// sleep or wait for a lock, and may refuse instead.
/// </param>
public readonly record struct NotifierRange(Hva Start, Hva End, NotifierEvent Event, InvalidationCause Cause, bool Blockable = true)
{
    public ulong Pages => (End.Value - Start.Value) >> Hva.PageShift;

    public bool Contains(Hva hva) => hva >= Start && hva < End;

    public bool Overlaps(Hva start, Hva end) => Start < end && start < End;

    public static NotifierRange OnePage(Hva hva, NotifierEvent evt, InvalidationCause cause) =>
        new(new Hva(hva.Value & ~Hva.PageMask), new Hva((hva.Value & ~Hva.PageMask) + Hva.PageSize), evt, cause);
}
