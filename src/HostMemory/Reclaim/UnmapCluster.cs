using System.Diagnostics;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// <c>try_to_unmap_file</c>'s nonlinear half and <c>try_to_unmap_cluster</c> (mm/rmap.c, 2.6.x–v4.0). A page of a
/// nonlinear VMA cannot be found from its offset, so reclaim unmaps whole clusters (<c>CLUSTER_SIZE</c>, 32 pages)
/// of every nonlinear VMA of the file, round-robin from each VMA's cursor, until the target page's map count is
/// used up or every cluster was tried. Every present, not-young PTE of a cluster goes, whatever page it maps: the
/// other pages are not locked, only kept alive by the page cache.
/// </summary>
/// <remarks>
/// Notifiers, as in the 2008 patch (and v3.7): one <c>invalidate_range_start</c> over the whole cluster before the
/// page-table lock, a plain young test and clear inside (the start already zapped the secondaries, so the young
/// test is the CPU's only), <c>invalidate_range_end</c> after <c>pte_unmap_unlock</c>. Nonlinear VMAs exist only in
/// the legacy profile (see <see cref="AddressSpace.RemapFilePagesNonlinear"/>).
/// </remarks>
internal static class UnmapCluster
{
    /// <summary><c>CLUSTER_SIZE</c>: min(32 pages, PMD_SIZE).</summary>
    public const int ClusterPages = 32;

    /// <summary>The nonlinear half of one <c>try_to_unmap</c> of <paramref name="pfn"/>, run inside its file rmap walk.</summary>
    public sealed class Run(HostSystem host, Pfn pfn)
    {
        /// <summary>PTEs the clusters unmapped.</summary>
        public int Unmapped { get; private set; }

        public void Unmap(FileObject file) => Unmapped += TryToUnmapNonlinear(host, file, pfn);
    }

    /// <summary>
    /// The nonlinear loop of <c>try_to_unmap_file</c> for page <paramref name="pfn"/> of <paramref name="file"/>.
    /// Caller holds the page lock and <c>i_mmap_rwsem</c> for read. Returns the PTEs unmapped.
    /// </summary>
    public static int TryToUnmapNonlinear(HostSystem host, FileObject file, Pfn pfn)
    {
        Debug.Assert(host.Memory.IsPageLocked(pfn), "try_to_unmap_file: the caller holds the folio lock");
        Debug.Assert(file.IMmapLock.IsReadLockHeld || file.IMmapLock.IsWriteLockHeld, "the caller holds i_mmap_rwsem");
        var vmas = file.IMmapNonlinear;
        ulong maxCursor = 0, maxSize = 0;
        foreach (var vma in vmas)
        {
            maxCursor = Math.Max(maxCursor, vma.NonlinearCursor);
            maxSize = Math.Max(maxSize, vma.Pages);
        }

        var mapcount = host.Memory.MapCount(pfn);
        if (maxSize == 0 || mapcount == 0)
        {
            return 0;
        }

        var unmapped = 0;
        maxSize = (maxSize + ClusterPages - 1) / ClusterPages * ClusterPages;
        if (maxCursor == 0)
        {
            maxCursor = ClusterPages;
        }

        do
        {
            foreach (var vma in vmas)
            {
                var cursor = vma.NonlinearCursor;
                while (cursor < maxCursor && cursor < vma.Pages)
                {
                    var n = Cluster(host, vma, cursor);
                    unmapped += n;
                    mapcount -= n;
                    cursor += ClusterPages;
                    vma.NonlinearCursor = cursor;
                    if (mapcount <= 0)
                    {
                        return unmapped;
                    }
                }

                vma.NonlinearCursor = maxCursor;
            }

            maxCursor += ClusterPages;
        }
        while (maxCursor <= maxSize);

        // "Don't loop forever": reset every cursor, forgetting which VMAs had fallen behind.
        foreach (var vma in vmas)
        {
            vma.NonlinearCursor = 0;
        }

        return unmapped;
    }

    /// <summary><c>try_to_unmap_cluster(cursor, &amp;mapcount, vma)</c>: returns the PTEs it unmapped.</summary>
    private static int Cluster(HostSystem host, Vma vma, ulong cursor)
    {
        var mm = vma.Mm;
        var first = (vma.Start.PageNumber + cursor) & ~(ulong)(ClusterPages - 1);
        var start = Math.Max(first, vma.Start.PageNumber);
        var end = Math.Min(first + ClusterPages, vma.End.PageNumber);
        if (start >= end || mm.PageTable.Find(start) is not { } table)
        {
            return 0;
        }

        var onePage = (host.Mutations & HostMutations.ClusterRangeOnePage) != 0;
        var range = new NotifierRange(Hva.FromPage(start), Hva.FromPage(onePage ? start + 1 : end), NotifierEvent.Clear,
            InvalidationCause.UnmapCluster);
        if (!mm.Notifiers.InvalidateRangeStart(range))
        {
            return 0;
        }

        var memory = host.Memory;
        var unmapped = 0;
        table.EnterWalker();
        try
        {
            using (table.Ptl.Enter())
            {
                if (table.CheckLive(host.Violations, new AccessSite("try_to_unmap_cluster", -1, start)))
                {
                    for (var vpn = start; vpn < end; vpn++)
                    {
                        ref var slot = ref table.Slots[PageTable.PteIndex(vpn)];
                        var pte = Volatile.Read(ref slot);
                        if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).IsZeroPage)
                        {
                            continue;
                        }

                        if ((pte & Pte.Accessed) != 0)
                        {
                            Volatile.Write(ref slot, pte & ~Pte.Accessed); // ptep_clear_flush_young: keep it this time
                            continue;
                        }

                        var page = Pte.PfnOf(pte);
                        Debug.Assert((memory.Flags(page) & FrameFlags.Anon) == 0, "BUG_ON(PageAnon(page)): a shared file mapping");
                        Volatile.Write(ref slot, 0UL); // ptep_clear_flush; the offset is linear, so no pte_file is needed
                        table.Used--;
                        if ((pte & Pte.Dirty) != 0)
                        {
                            memory.MarkDirty(page);
                        }

                        memory.RemoveMapping(page); // page_remove_rmap
                        memory.Put(page);           // page_cache_release: the page cache still holds its own
                        unmapped++;
                    }
                }
            }
        }
        finally
        {
            table.LeaveWalker();
        }

        mm.Notifiers.InvalidateRangeEnd(range);
        host.Count(HostCounter.ClusterUnmaps, unmapped);
        return unmapped;
    }
}
