using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// The notifier calls around one page-table entry change that removes or downgrades a mapping, in the address
/// space's <see cref="NotifierProfile"/>. Every single-page call site of reclaim, writeback, migration and KSM
/// uses it in the same order:
/// <code>
/// if (!inv.Start()) return;       // Modern: range start, while the page is still mapped and referenced
/// lock (ptl) { change the PTE }
/// inv.AfterPteChange(changed);    // Legacy2008: InvalidatePage, outside the PTL, before any free
/// ... work that needs every mapping gone (pageout, copy, compare) ...
/// inv.End();                      // Modern: range end
/// free the old page
/// inv.AfterFree(changed);         // only the LegacyInvalidateAfterFree mutation calls InvalidatePage here
/// </code>
/// Nothing here runs under a page-table lock, which is the point: notifiers may sleep.
/// </summary>
internal readonly struct PageInvalidation
{
    private readonly AddressSpace _mm;
    private readonly NotifierRange _range;
    private readonly bool _modern;
    private readonly bool _invalidateAfterFree;

    /// <param name="mm">The address space whose entry changes.</param>
    /// <param name="hva">The address of the entry (the first byte of a PMD leaf's 2 MiB for a huge one).</param>
    /// <param name="evt">The notifier event.</param>
    /// <param name="cause">The host operation, for statistics.</param>
    /// <param name="bytes">
    /// What the entry maps: a page, or <see cref="AddressSpace.HugePageSize"/> for a PMD leaf, which the modern range
    /// covers whole (<c>vma_address_end</c>) while the legacy <c>InvalidatePage</c> still names one address — the
    /// under-invalidation v4.13 removed it for.
    /// </param>
    public PageInvalidation(AddressSpace mm, Hva hva, NotifierEvent evt, InvalidationCause cause, ulong bytes = Hva.PageSize)
    {
        _mm = mm;
        _range = bytes == Hva.PageSize ? NotifierRange.OnePage(hva, evt, cause) : new NotifierRange(hva, hva + bytes, evt, cause);
        _modern = mm.Profile == NotifierProfile.Modern;
        _invalidateAfterFree = (mm.Host.Mutations & HostMutations.LegacyInvalidateAfterFree) != 0;
    }

    /// <summary>
    /// Modern: <c>mmu_notifier_invalidate_range_start</c> (blockable). False only if a notifier broke the
    /// contract and refused (the chain has reported it); then the caller changes nothing and skips the rest.
    /// </summary>
    public bool Start() => !_modern || _mm.Notifiers.InvalidateRangeStart(_range);

    /// <summary>Legacy: <c>mmu_notifier_invalidate_page</c> right after the PTE change, before the page can be freed.</summary>
    public void AfterPteChange(bool changed)
    {
        if (!_modern && changed && !_invalidateAfterFree)
        {
            _mm.Notifiers.InvalidatePage(_range.Start, _range.Cause);
        }
    }

    /// <summary>Modern: <c>mmu_notifier_invalidate_range_end</c>.</summary>
    public void End()
    {
        if (_modern)
        {
            _mm.Notifiers.InvalidateRangeEnd(_range);
        }
    }

    /// <summary>True if <see cref="AfterFree"/> will call the secondary (the broken variant): rmap walkers keep it for after the free.</summary>
    public bool InvalidatesAfterFree => !_modern && _invalidateAfterFree;

    /// <summary>The deliberately broken order (<see cref="HostMutations.LegacyInvalidateAfterFree"/>): invalidate after the free.</summary>
    public void AfterFree(bool changed)
    {
        if (!_modern && changed && _invalidateAfterFree)
        {
            _mm.Notifiers.InvalidatePage(_range.Start, _range.Cause);
        }
    }
}
