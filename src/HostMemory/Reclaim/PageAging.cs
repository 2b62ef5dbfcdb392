using System.Numerics;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Aging of mapped pages (<c>folio_referenced</c> / <c>page_referenced_one</c>): test-and-clear the CPU accessed
/// bit under the page-table lock, then OR in the secondary MMUs' answer from
/// <see cref="Notifiers.NotifierChain.ClearFlushYoung"/> (or <see cref="Notifiers.NotifierChain.ClearYoung"/>)
/// outside the lock. A page is young if either said so; aging never changes a pfn, so it sends no invalidation.
/// </summary>
/// <remarks>
/// The CPU bits are cleared for up to 64 entries under one acquisition of the page-table lock; the notifier is then
/// asked page by page, because a secondary answers for a range and may map at a finer grain than the host.
/// With no notifier registered that second loop is skipped entirely.
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

    /// <summary>Ages every mapped page of every live address space; busy spaces are skipped.</summary>
    public AgingResult AgeAll()
    {
        long scanned = 0, young = 0, fromSecondary = 0;
        var skipped = 0;
        foreach (var mm in _host.LiveAddressSpaces())
        {
            if (!mm.TryEnterScan(out var scope))
            {
                skipped++;
                continue;
            }

            using (scope)
            {
                if (mm.IsDead)
                {
                    continue;
                }

                foreach (var vma in mm.VmasLocked)
                {
                    for (var walk = new TableWalk(mm.PageTable, vma.Start.PageNumber, vma.End.PageNumber); walk.MoveNext();)
                    {
                        for (var j = walk.From; j < walk.To; j = (j | 63) + 1)
                        {
                            var segment = AgeSegment(mm, walk.Table, walk.BaseVpn, j, Math.Min(walk.To, (j | 63) + 1));
                            scanned += BitOperations.PopCount(segment.Mapped);
                            young += BitOperations.PopCount(segment.Young);
                            fromSecondary += segment.YoungFromSecondary;
                        }
                    }
                }
            }
        }

        return new AgingResult(scanned, young, fromSecondary, skipped);
    }

    /// <summary>
    /// Ages entries [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="table"/>, which must lie in
    /// one aligned group of 64. Bit <c>j &amp; 63</c> of the masks stands for entry <c>j</c>. Caller holds the
    /// mmap lock; no page-table lock may be held (the notifier is called).
    /// </summary>
    internal AgedSegment AgeSegment(AddressSpace mm, PteTable table, ulong baseVpn, int from, int to)
    {
        ulong mapped = 0, young = 0;
        using (table.Ptl.Enter())
        {
            for (var j = from; j < to; j++)
            {
                var pte = table.Slots[j];
                if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).IsZeroPage)
                {
                    continue;
                }

                mapped |= 1UL << (j & 63);
                if ((pte & Pte.Accessed) != 0)
                {
                    young |= 1UL << (j & 63);
                    Volatile.Write(ref table.Slots[j], pte & ~Pte.Accessed);
                }
            }
        }

        var fromSecondary = 0;
        if (mapped != 0 && mm.Notifiers.HasNotifiers)
        {
            var flush = Policy == AgingPolicy.ClearFlushYoung;
            for (var bits = mapped; bits != 0; bits &= bits - 1)
            {
                var bit = BitOperations.TrailingZeroCount(bits);
                var start = Hva.FromPage(baseVpn + (ulong)((from & ~63) + bit));
                var end = start + Hva.PageSize;
                var secondaryYoung = flush ? mm.Notifiers.ClearFlushYoung(start, end) : mm.Notifiers.ClearYoung(start, end);
                if (secondaryYoung && (young & (1UL << bit)) == 0)
                {
                    young |= 1UL << bit;
                    fromSecondary++;
                }
            }
        }

        if (mapped != 0)
        {
            _host.Count(HostCounter.AgingScans, BitOperations.PopCount(mapped));
        }

        if (fromSecondary != 0)
        {
            _host.Count(HostCounter.YoungFromSecondary, fromSecondary);
        }

        return new AgedSegment(mapped, young, fromSecondary);
    }

    /// <summary>One aged group of up to 64 entries: which were mapped, which were young, how many only for a secondary.</summary>
    internal readonly record struct AgedSegment(ulong Mapped, ulong Young, int YoungFromSecondary);
}
