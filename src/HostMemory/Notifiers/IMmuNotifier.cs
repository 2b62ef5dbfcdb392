using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// A secondary MMU's subscription to changes of an address space's page tables (<c>struct mmu_notifier_ops</c>).
/// Callbacks run on the thread that changes the primary page tables, under an SRCU-like read section and with the
/// mmap lock held (read or write), never under a page-table lock; they may block unless the range says otherwise.
/// Several callbacks can run at once on different threads, and start/end pairs can nest.
/// </summary>
public interface IMmuNotifier
{
    /// <summary>
    /// The address space is going away (exit), or this notifier is being unregistered. Called before any page of
    /// the address space is freed. Must drop every secondary mapping and refuse new ones. May run twice, and
    /// concurrently with other callbacks: it must be idempotent.
    /// </summary>
    void Release(AddressSpace mm);

    /// <summary>
    /// Called while every page in <paramref name="range"/> is still mapped and referenced. On return the
    /// secondary must have no mapping in the range, every secondary TLB must have dropped it, and no new mapping
    /// may be installed in it until the matching <see cref="InvalidateRangeEnd"/>.
    /// </summary>
    /// <returns>
    /// True when done. False only when <see cref="NotifierRange.Blockable"/> is false and the work would have to
    /// wait (<c>-EAGAIN</c>): then the caller changes nothing and no end is delivered for this start.
    /// </returns>
    bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range);

    /// <summary>
    /// The page-table change for the range is complete (pages may already be freed). Paired with exactly one
    /// successful <see cref="InvalidateRangeStart"/>; the secondary may map the range again afterwards.
    /// </summary>
    void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range);

    /// <summary>
    /// Whether <see cref="InvalidateRangeEnd"/> is implemented (a non-null <c>ops-&gt;invalidate_range_end</c>). A
    /// notifier that can refuse a start must say false: after a refusal the chain calls the end of every notifier
    /// that has one, since none can tell whether its own start was the one refused (<c>mn_hlist_invalidate_range_start</c>
    /// warns when a refuser has an end).
    /// </summary>
    bool HasInvalidateRangeEnd => true;

    /// <summary>
    /// Legacy (2008) single-page invalidation: called after the PTE for <paramref name="hva"/> changed, outside the
    /// page-table lock and before the old page is freed. Must drop the mapping and flush before returning.
    /// </summary>
    void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause);

    /// <summary>
    /// Aging: test-and-clear the accessed state of every secondary mapping in [start, end) and flush the secondary
    /// TLB so the next access sets it again. Returns true if any was young.
    /// </summary>
    bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end);

    /// <summary>Like <see cref="ClearFlushYoung"/> but may skip the TLB flush (lighter, less precise).</summary>
    bool ClearYoung(AddressSpace mm, Hva start, Hva end);

    /// <summary>Reports whether the page at <paramref name="hva"/> is young without clearing anything.</summary>
    bool TestYoung(AddressSpace mm, Hva hva);
}
