using System.Diagnostics;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// Execute in place (<c>mm/filemap_xip.c</c>, 2.6.13–v4.0; DAX since). The file's memory is mapped directly: no
/// page cache, no writeback, no reclaim. Each page that was ever written has a block (a frame the file owns for
/// its lifetime, <c>get_xip_mem(create)</c>); a hole is mapped read-only to the one shared, zeroed sparse page
/// (here the zero page) by private or read-only mappings. When a hole gets its block, <c>__xip_unmap</c> removes
/// every sparse-page mapping of that offset so the next access maps the block.
/// </summary>
/// <remarks>
/// <para>
/// <c>__xip_unmap</c> walks <c>i_mmap</c> at the offset under <c>i_mmap_lock</c> and <b>no page lock</b> (the sparse
/// page is shared by every hole). Per VMA: <c>page_check_address</c> (PTL; does the PTE map the sparse page?),
/// <c>ptep_clear_flush</c>, <c>page_remove_rmap</c>, unlock, then in the 2008 patch
/// <c>mmu_notifier_invalidate_page(mm, address)</c> ("must invalidate_page _before_ freeing the page"), then
/// <c>page_cache_release</c>. The modern profile does what DAX's <c>unmap_mapping_range</c> does: a range start
/// before the PTL and a range end after it.
/// </para>
/// <para>
/// A fault that maps the sparse page behind the walk would leave a hole mapped after its block exists (P5). The
/// kernel closed it with <c>xip_sparse_mutex</c> and <c>xip_sparse_seq</c>; here the fault looks for the block and
/// installs the sparse page under <see cref="_xipSparseLock"/>, and the walk runs after the block is published
/// while holding it, so every sparse mapping is either seen by the walk or never made.
/// </para>
/// </remarks>
public sealed partial class FileObject
{
    // The blocks of an execute-in-place file (pfn per page index, 0 = hole); empty for other files.
    private readonly int[]?[] _xipBlocks;

    // xip_sparse_mutex: a fault mapping the sparse page and __xip_unmap's walk exclude each other.
    private readonly ProtocolLock _xipSparseLock = new("xip_sparse_mutex");

    /// <summary>The block holding page <paramref name="index"/>, or null for a hole. Takes no reference.</summary>
    public Pfn? XipBlock(long index)
    {
        Debug.Assert(IsXip, "only an execute-in-place file has blocks");
        var chunk = Volatile.Read(ref _xipBlocks[index >> ChunkShift]);
        var pfn = chunk is null ? 0 : Volatile.Read(ref chunk[index & (ChunkSize - 1)]);
        return pfn == 0 ? null : new Pfn(pfn);
    }

    /// <summary>
    /// <c>get_xip_mem(mapping, pgoff, create=1)</c>: the block of page <paramref name="index"/>, allocating it if the
    /// page is a hole (<paramref name="created"/> then true: the caller must run <see cref="XipUnmap"/>). The file
    /// keeps its own reference on every block for as long as it exists.
    /// </summary>
    internal HostStatus GetXipBlock(long index, PhysicalMemory memory, out Pfn pfn, out bool created)
    {
        created = false;
        if (XipBlock(index) is { } existing)
        {
            pfn = existing;
            return HostStatus.Ok;
        }

        if (!memory.TryAllocate(FrameFlags.None, 0, out var fresh))
        {
            pfn = default;
            return HostStatus.OutOfMemory;
        }

        var chunk = _xipBlocks[index >> ChunkShift] ?? EnsureChunk(_xipBlocks, index);
        var raced = Interlocked.CompareExchange(ref chunk[index & (ChunkSize - 1)], fresh.Value, 0);
        if (raced != 0)
        {
            memory.Put(fresh);
            pfn = new Pfn(raced);
            return HostStatus.Ok;
        }

        pfn = fresh;
        created = true;
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>__xip_file_write</c> for one page: <c>write(2)</c> of <paramref name="value"/> at page
    /// <paramref name="index"/>, through no mapping. Filling a hole unmaps the sparse page everywhere first.
    /// </summary>
    public HostStatus XipWrite(HostSystem host, long index, ulong value)
    {
        if (index < 0 || index >= Pages)
        {
            return HostStatus.NoVma;
        }

        var status = GetXipBlock(index, host.Memory, out var block, out var created);
        if (status != HostStatus.Ok)
        {
            return status;
        }

        if (created)
        {
            XipUnmap(host, index);
        }

        host.Memory.Write(block, value, new AccessSite("xip-write", -1, (ulong)index));
        return HostStatus.Ok;
    }

    /// <summary>
    /// A fault that found page <paramref name="index"/> a hole maps the sparse page through <paramref name="install"/>,
    /// unless the block appeared meanwhile: then false, and the caller maps the block.
    /// </summary>
    internal bool TryMapSparse(long index, Func<bool> install)
    {
        using (_xipSparseLock.EnterScope())
        {
            return XipBlock(index) is null && install();
        }
    }

    /// <summary>
    /// <c>__xip_unmap(mapping, pgoff)</c>: removes every mapping of the sparse page at page <paramref name="index"/>
    /// (see the class remarks). Returns the PTEs cleared.
    /// </summary>
    internal int XipUnmap(HostSystem host, long index)
    {
        Debug.Assert(XipBlock(index) is not null, "__xip_unmap runs once the block exists");
        var cleared = 0;
        var skipNotify = (host.Mutations & HostMutations.XipUnmapWithoutNotify) != 0;
        using (_xipSparseLock.EnterScope())
        {
            IMmapLock.EnterReadLock();
            try
            {
                for (var i = IMmap.NextContaining((uint)index, 0); i >= 0; i = IMmap.NextContaining((uint)index, i + 1))
                {
                    var vma = IMmap[i];
                    if (vma.TryAddressOf((uint)index, out var address) && UnmapSparse(host, vma, address, skipNotify))
                    {
                        cleared++;
                    }
                }
            }
            finally
            {
                IMmapLock.ExitReadLock();
            }
        }

        host.Count(HostCounter.XipUnmaps, cleared);
        return cleared;
    }

    private static bool UnmapSparse(HostSystem host, Vma vma, Hva address, bool skipNotify)
    {
        var mm = vma.Mm;
        var modern = mm.Profile == NotifierProfile.Modern;
        var range = NotifierRange.OnePage(address, NotifierEvent.Unmap, InvalidationCause.XipUnmap);
        if (modern && !skipNotify && !mm.Notifiers.InvalidateRangeStart(range))
        {
            return false;
        }

        var cleared = false;
        var vpn = address.PageNumber;
        if (mm.PageTable.Find(vpn) is { } table)
        {
            table.EnterWalker();
            try
            {
                using (table.Ptl.Enter())
                {
                    // page_check_address(sparse page): only a PTE that still maps the sparse page goes.
                    var slot = PageTable.PteIndex(vpn);
                    var pte = Volatile.Read(ref table.Slots[slot]);
                    if (table.CheckLive(host.Violations, new AccessSite("__xip_unmap", -1, vpn))
                        && Pte.IsPresent(pte) && Pte.PfnOf(pte).IsZeroPage)
                    {
                        Debug.Assert((pte & Pte.Dirty) == 0, "BUG_ON(pte_dirty): the sparse page is never written");
                        Volatile.Write(ref table.Slots[slot], 0UL); // ptep_clear_flush; the sparse page has no rmap
                        table.Used--;
                        cleared = true;
                    }
                }
            }
            finally
            {
                table.LeaveWalker();
            }
        }

        if (skipNotify)
        {
            return cleared;
        }

        if (modern)
        {
            mm.Notifiers.InvalidateRangeEnd(range);
        }
        else if (cleared)
        {
            mm.Notifiers.InvalidatePage(address, InvalidationCause.XipUnmap); // after pte_unmap_unlock, before release
        }

        return cleared;
    }
}
