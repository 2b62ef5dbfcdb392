using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Aging of mapped pages (<c>folio_referenced</c>): for one page, an rmap walk visits every mapping and test-and-clears
/// its CPU accessed bit under the page-table lock, and asks the secondary MMUs with
/// <see cref="NotifierChain.ClearFlushYoung"/> (or <see cref="NotifierChain.ClearYoung"/>). A page is young if any
/// mapping or secondary said so; aging never changes a pfn, so it sends no invalidation.
/// </summary>
/// <remarks>
/// <para>
/// Where the secondary is asked depends on the profile, as the kernel's history does: Modern calls it inside the
/// page-table-lock section (<c>ptep_clear_flush_young_notify</c>, today's <c>folio_referenced_one</c>); Legacy2008
/// after the lock is dropped (the seed's "invalidate_page outside PT lock" series moved
/// <c>mmu_notifier_clear_flush_young</c> there too).
/// </para>
/// <para>
/// Locks, as <c>folio_referenced</c>: a reference on the page (the caller isolated it), the anon_vma lock for read, or
/// for a page-cache page the page lock taken with a try-lock (busy: skipped, <c>FOLIOREF_KEEP</c>) and i_mmap for read;
/// the page-table lock per mapping. Never an mmap lock. <c>test_young</c> has no caller here: the kernel calls it from
/// page_idle and DAMON, which this host does not model.
/// </para>
/// </remarks>
public sealed class PageAging
{
    private readonly HostSystem _host;

    public PageAging(HostSystem host, AgingPolicy policy)
    {
        _host = host;
        Policy = policy;
    }

    public AgingPolicy Policy { get; }

    /// <summary>
    /// Ages every mapped anonymous and page-cache page of the host (the aging half of an LRU scan, over all frames);
    /// page-cache pages whose page lock is busy are skipped.
    /// </summary>
    public AgingResult AgeAll()
    {
        var memory = _host.Memory;
        long scanned = 0, young = 0, fromSecondary = 0;
        var skipped = 0;
        for (var i = 1; i < memory.HighWater; i++)
        {
            var pfn = new Pfn(i);
            if (!IsAgeable(memory.StateOf(pfn)) || !memory.TryGet(pfn))
            {
                continue;
            }

            var outcome = Referenced(pfn);
            memory.Put(pfn);
            if (outcome.Mapped == 0)
            {
                skipped += outcome.Contended ? 1 : 0;
                continue;
            }

            scanned++;
            young += outcome.Referenced > 0 ? 1 : 0;
            fromSecondary += outcome.OnlySecondary ? 1 : 0;
        }

        return new AgingResult(scanned, young, fromSecondary, skipped);
    }

    /// <summary>A mapped anonymous or page-cache page, not KSM (KSM pages are not aged or reclaimed here).</summary>
    internal static bool IsAgeable(ulong state)
    {
        var flags = FrameState.Flags(state);
        return (flags & (FrameFlags.Free | FrameFlags.Ksm)) == 0 && (flags & (FrameFlags.Anon | FrameFlags.PageCache)) != 0
            && FrameState.MapCount(state) != 0;
    }

    /// <summary>
    /// <c>folio_referenced</c> on a page the caller holds a reference on. A page-cache page is try-locked here unless
    /// the caller already holds its lock (<paramref name="pageLocked"/>).
    /// </summary>
    internal ReferencedOutcome Referenced(Pfn pfn, bool pageLocked = false)
    {
        var memory = _host.Memory;
        var file = (memory.Flags(pfn) & FrameFlags.PageCache) != 0;
        var weLocked = false;
        if (file && !pageLocked)
        {
            if (!memory.TryLockPage(pfn))
            {
                return new ReferencedOutcome(0, 0, false, Contended: true);
            }

            weLocked = true;
        }

        try
        {
            var one = new FolioReferencedOne(_host, pfn, Policy == AgingPolicy.ClearFlushYoung);
            var status = RmapWalk.Walk(_host, pfn, ref one, tryLock: true);
            if (status == RmapWalkStatus.Contended)
            {
                _host.Count(HostCounter.RmapContended);
            }

            var onlySecondary = one.Referenced > 0 && one.Referenced == one.SecondaryOnly;
            if (one.Mapped > 0)
            {
                _host.Count(HostCounter.AgingScans);
            }

            if (onlySecondary)
            {
                _host.Count(HostCounter.YoungFromSecondary);
            }

            return new ReferencedOutcome(one.Mapped, one.Referenced, onlySecondary, status == RmapWalkStatus.Contended);
        }
        finally
        {
            if (weLocked)
            {
                memory.UnlockPage(pfn);
            }
        }
    }

    /// <summary>What <see cref="Referenced"/> found: mappings visited, mappings young, young only for a secondary.</summary>
    internal readonly record struct ReferencedOutcome(int Mapped, int Referenced, bool OnlySecondary, bool Contended);

    /// <summary><c>folio_referenced_one</c>.</summary>
    private struct FolioReferencedOne(HostSystem host, Pfn pfn, bool flush) : IRmapOne
    {
        public int Mapped;
        public int Referenced;
        public int SecondaryOnly;

        public bool Visit(Vma vma, Hva address)
        {
            var mm = vma.Mm;
            if (mm.Users == 0 || mm.IsOomReaped)
            {
                return true; // an exiting or reaped mm's mapping does not keep the page young
            }

            var notify = mm.Notifiers.HasNotifiers;
            var modern = mm.Profile == NotifierProfile.Modern;
            bool cpuYoung;
            var secondaryYoung = false;
            if (!MappedPte.TryMap(host, vma, address, pfn, "folio_referenced", migration: false, out var mapped, pmdLeafOk: true))
            {
                return true;
            }

            using (mapped)
            {
                Mapped++;
                cpuYoung = (mapped.Pte & Pte.Accessed) != 0;
                if (cpuYoung)
                {
                    Volatile.Write(ref mapped.Entry, mapped.Pte & ~Pte.Accessed);
                }

                if (modern && notify)
                {
                    // ptep_clear_flush_young_notify: the secondary is asked under the PTL.
                    secondaryYoung = AskSecondary(mm, address);
                }
            }

            if (!modern && notify)
            {
                // 2008: mmu_notifier_clear_flush_young after pte_unmap_unlock.
                secondaryYoung = AskSecondary(mm, address);
            }

            if (cpuYoung || secondaryYoung)
            {
                Referenced++;
                SecondaryOnly += cpuYoung ? 0 : 1;
            }

            return true;
        }

        private readonly bool AskSecondary(AddressSpace mm, Hva address) =>
            flush ? mm.Notifiers.ClearFlushYoung(address, address + Hva.PageSize) : mm.Notifiers.ClearYoung(address, address + Hva.PageSize);
    }
}
