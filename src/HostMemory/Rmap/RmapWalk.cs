using System.Diagnostics;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// <c>rmap_walk</c> (mm/rmap.c): finds every VMA that may map a page from the page itself, without any mmap lock,
/// and hands each to an <see cref="IRmapOne"/>. The one way reclaim, aging, writeback and migration reach mappings.
/// </summary>
/// <remarks>
/// <para>
/// Anonymous pages (<c>rmap_walk_anon</c>): the page's anon_vma, its root's lock for read
/// (<c>folio_lock_anon_vma_read</c>), then every VMA linked to it whose page interval holds the page's index; after
/// the lock is taken the page must still be mapped and still point at the same anon_vma, which proves the anon_vma
/// was not freed and its id recycled meanwhile (P4). File pages (<c>rmap_walk_file</c>): the caller holds the page
/// lock, which keeps the page in its file (P3); the file's <c>i_mmap_rwsem</c> for read; every VMA of
/// <c>i_mmap</c> covering the index.
/// </para>
/// <para>
/// The lock held across the visits is what keeps each visited VMA and its page tables alive: <c>free_pgtables</c>
/// takes it for write before it frees a table (P1). A try-lock walk (reclaim's
/// <c>rwc-&gt;try_lock</c>) gives up instead of sleeping when the lock is taken.
/// </para>
/// </remarks>
internal static class RmapWalk
{
    /// <summary>
    /// Walks the VMAs that may map <paramref name="pfn"/>. A <paramref name="tryLock"/> walk (reclaim) returns
    /// <see cref="RmapWalkStatus.Contended"/> instead of sleeping on the rmap lock. <paramref name="requireMapped"/>
    /// false is <c>remove_migration_ptes</c>' walk of a page whose every mapping is a migration entry (the caller
    /// holds the page lock, and the VMAs holding those entries keep the anon_vma alive). <paramref name="nonlinear"/>,
    /// given by <c>try_to_unmap</c> only, runs for a file page still mapped after the linear VMAs, under the same
    /// <c>i_mmap_rwsem</c> (<c>try_to_unmap_file</c>'s nonlinear loop).
    /// </summary>
    public static RmapWalkStatus Walk<T>(HostSystem host, Pfn pfn, ref T rmapOne, bool tryLock, bool requireMapped = true,
        Action<FileObject>? nonlinear = null)
        where T : struct, IRmapOne
    {
        var memory = host.Memory;
        var id = memory.RmapMapping(pfn);
        if (id == 0 || (requireMapped && memory.MapCount(pfn) == 0))
        {
            return RmapWalkStatus.NotMapped;
        }

        host.Count(HostCounter.RmapWalks);
        return host.Rmap.Lookup(id) switch
        {
            AnonVma anonVma => WalkAnon(host, pfn, id, anonVma, ref rmapOne, tryLock, requireMapped),
            FileObject file => WalkFile(host, pfn, id, file, ref rmapOne, tryLock, nonlinear),
            _ => RmapWalkStatus.NotMapped,
        };
    }

    private static RmapWalkStatus WalkAnon<T>(HostSystem host, Pfn pfn, ushort id, AnonVma anonVma, ref T rmapOne, bool tryLock, bool requireMapped)
        where T : struct, IRmapOne
    {
        var rwsem = anonVma.Lock;
        if (tryLock)
        {
            if (!rwsem.TryEnterReadLock(0))
            {
                return RmapWalkStatus.Contended;
            }
        }
        else
        {
            rwsem.EnterReadLock();
        }

        try
        {
            // folio_lock_anon_vma_read's recheck: still mapped, still this anon_vma.
            var memory = host.Memory;
            if (anonVma.IsFreed || (requireMapped && memory.MapCount(pfn) == 0) || memory.RmapMapping(pfn) != id
                || !ReferenceEquals(host.Rmap.Lookup(id), anonVma))
            {
                return RmapWalkStatus.NotMapped;
            }

            VisitAll(host, anonVma.Vmas, memory.RmapIndex(pfn), ref rmapOne);
            return RmapWalkStatus.Walked;
        }
        finally
        {
            rwsem.ExitReadLock();
        }
    }

    private static RmapWalkStatus WalkFile<T>(HostSystem host, Pfn pfn, ushort id, FileObject file, ref T rmapOne, bool tryLock,
        Action<FileObject>? nonlinear)
        where T : struct, IRmapOne
    {
        Debug.Assert(host.Memory.IsPageLocked(pfn), "rmap_walk_file: the caller holds the folio lock");
        var rwsem = file.IMmapLock;
        if (tryLock)
        {
            if (!rwsem.TryEnterReadLock(0))
            {
                return RmapWalkStatus.Contended;
            }
        }
        else
        {
            rwsem.EnterReadLock();
        }

        try
        {
            if (host.Memory.RmapMapping(pfn) != id || (host.Memory.Flags(pfn) & FrameFlags.PageCache) == 0)
            {
                return RmapWalkStatus.NotMapped;
            }

            VisitAll(host, file.IMmap, host.Memory.RmapIndex(pfn), ref rmapOne);
            if (nonlinear is not null && file.IMmapNonlinear.Count > 0 && host.Memory.MapCount(pfn) > 0)
            {
                nonlinear(file);
            }

            return RmapWalkStatus.Walked;
        }
        finally
        {
            rwsem.ExitReadLock();
        }
    }

    private static void VisitAll<T>(HostSystem host, VmaIntervalSet vmas, uint index, ref T rmapOne)
        where T : struct, IRmapOne
    {
        for (var i = vmas.NextContaining(index, 0); i >= 0; i = vmas.NextContaining(index, i + 1))
        {
            var vma = vmas[i];
            Debug.Assert(!vma.RmapUnlinked, "a walker under the rmap lock never meets an unlinked VMA");
            if (!vma.TryAddressOf(index, out var address))
            {
                continue;
            }

            if (!rmapOne.Visit(vma, address))
            {
                return;
            }
        }
    }
}
