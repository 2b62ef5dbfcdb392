using System.Diagnostics;
using Hypervisor.HostMemory.Locking;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Rmap;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// Keeping the reverse maps in step with the VMAs (mm/rmap.c, mm/mmap.c): <c>anon_vma_prepare</c>,
/// <c>anon_vma_fork</c>, linking file VMAs into <c>i_mmap</c>, <c>vma_prepare</c>/<c>vma_complete</c> around a split,
/// and <c>free_pgtables</c>' unlink-then-free order.
/// </summary>
/// <remarks>
/// Lock order (mm/rmap.c): mmap lock → page lock → <c>i_mmap_rwsem</c> → anon_vma root lock → page-table lock.
/// Every VMA change an rmap walker could observe (bounds, page offset, linking) happens under the rmap locks for
/// write, because walkers hold those, not the mmap lock.
/// </remarks>
public sealed partial class AddressSpace
{
    // mm->page_table_lock: serializes anon_vma_prepare's publication of a VMA's anon_vma among racing faults.
    private readonly ProtocolLock _pageTableLock = new("page_table_lock");

    /// <summary>True if the calling thread holds this address space's mmap lock (lockdep's <c>lockdep_is_held</c>).</summary>
    public bool MmapLockHeldByCurrentThread => _mmapLock.IsReadLockHeld || _mmapLock.IsWriteLockHeld;

    /// <summary>
    /// <c>anon_vma_prepare</c>: the VMA's anon_vma, created and linked on the first anonymous page. Caller holds the
    /// mmap lock for read (faults race here; the page-table lock of the mm picks one anon_vma).
    /// </summary>
    internal AnonVma AnonVmaPrepare(Vma vma)
    {
        if (vma.AnonVma is { } existing)
        {
            return existing;
        }

        AssertMmapLockHeld("anon_vma_prepare");
        using (_pageTableLock.EnterScope())
        {
            if (vma.AnonVma is { } raced)
            {
                return raced;
            }

            var anonVma = new AnonVma(Host.Rmap, parent: null);
            anonVma.Lock.EnterWriteLock();
            try
            {
                anonVma.Link(vma);
                vma.AnonVma = anonVma; // published last: a fault that sees it sees it linked
            }
            finally
            {
                anonVma.Lock.ExitWriteLock();
            }

            return anonVma;
        }
    }

    /// <summary>
    /// <c>__folio_set_anon</c>: anchors a new anonymous page of <paramref name="vma"/> at virtual page
    /// <paramref name="vpn"/> in the VMA's anon_vma. Called before the page is mapped.
    /// </summary>
    internal void SetAnonRmap(Vma vma, ulong vpn, Pfn pfn) =>
        Memory.SetRmap(pfn, AnonVmaPrepare(vma).Id, vma.RmapIndexOf(vpn));

    /// <summary>
    /// <c>vma_link</c> → <c>__vma_link_file</c>: a new file or shared-memory VMA becomes visible to the file's rmap.
    /// Caller holds the mmap write lock.
    /// </summary>
    private static void LinkFileVma(Vma vma)
    {
        if (vma.File is not { } file)
        {
            return;
        }

        file.IMmapLock.EnterWriteLock();
        try
        {
            file.LinkVma(vma);
        }
        finally
        {
            file.IMmapLock.ExitWriteLock();
        }
    }

    /// <summary>
    /// <c>anon_vma_fork</c> (and, for file VMAs, <c>dup_mmap</c>'s <c>vma_interval_tree_insert_after</c>): the child
    /// VMA joins every anon_vma of the parent VMA and gets an anon_vma of its own, all before any PTE is copied, so a
    /// walk from a parent's page visits the child (P5).
    /// </summary>
    private static void LinkForkedVma(Vma child, Vma parent)
    {
        LinkFileVma(child);
        if (parent.AnonVma is not { } parentAnon)
        {
            child.AnonVma = null;
            return;
        }

        var root = parentAnon.Root;
        root.Lock.EnterWriteLock();
        try
        {
            // anon_vma_clone: one chain entry per anon_vma of the parent, ancestors included.
            foreach (var anonVma in parent.Chain)
            {
                anonVma.Link(child);
            }

            var own = new AnonVma(child.Mm.Host.Rmap, parentAnon);
            own.Link(child);
            child.AnonVma = own;
        }
        finally
        {
            root.Lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// <c>__split_vma</c> at <paramref name="at"/> under <c>vma_prepare</c>'s locks (i_mmap and anon_vma for write): the
    /// head keeps [Start, at), the new tail [at, End) joins the same anon_vmas (<c>anon_vma_clone</c>) and i_mmap. A
    /// walker sees either the old VMA or both pieces, never a VMA whose bounds disagree with its page offset.
    /// Returns the tail. Caller holds the mmap write lock.
    /// </summary>
    private Vma SplitVma(Vma vma, Hva at)
    {
        Debug.Assert(_mmapLock.IsWriteLockHeld, "__split_vma: caller holds the mmap lock for write");
        var tail = vma.CloneRange(this, at, vma.End);
        using (new VmaPrepareScope(vma))
        {
            vma.End = at;
            foreach (var anonVma in vma.Chain)
            {
                anonVma.Link(tail);
            }

            vma.File?.LinkVma(tail);
        }

        return tail;
    }

    /// <summary>
    /// The first half of <c>free_pgtables</c>: "Hide vma from rmap and truncate_pagecache before freeing pgtables"
    /// (<c>unlink_anon_vmas</c>, <c>unlink_file_vma</c>). Each takes the rmap lock for write, so it waits for every
    /// walker inside the VMA; after it no walker can reach the VMA's tables. Caller holds the mmap write lock.
    /// </summary>
    private void UnlinkVmaFromRmap(Vma vma)
    {
        Debug.Assert(_mmapLock.IsWriteLockHeld, "free_pgtables: caller holds the mmap lock for write");
        if (vma.Chain.Count > 0)
        {
            var root = vma.Chain[0].Root;
            root.Lock.EnterWriteLock();
            try
            {
                foreach (var anonVma in vma.Chain)
                {
                    anonVma.Unlink(vma);
                }

                vma.Chain.Clear();
            }
            finally
            {
                root.Lock.ExitWriteLock();
            }
        }

        if (vma.File is { } file)
        {
            file.IMmapLock.EnterWriteLock();
            try
            {
                file.UnlinkVma(vma);
            }
            finally
            {
                file.IMmapLock.ExitWriteLock();
            }
        }

        vma.RmapUnlinked = true;
    }

    /// <summary>
    /// <c>free_pgtables</c> for the VMAs being removed: unlink them from the reverse maps, then unhook the emptied
    /// tables into <paramref name="gather"/> (freed after its flush). The <see cref="HostMutations.TableFreeBeforeFlush"/>
    /// variant frees the tables first, while rmap walkers may be inside.
    /// </summary>
    private void FreePgtables(IReadOnlyList<Vma> removed, MmuGather gather)
    {
        var broken = (Host.Mutations & HostMutations.TableFreeBeforeFlush) != 0;
        if (broken)
        {
            foreach (var vma in removed)
            {
                PageTable.FreeEmptyTables(vma.Start.PageNumber, vma.End.PageNumber, gather);
            }
        }

        foreach (var vma in removed)
        {
            UnlinkVmaFromRmap(vma);
        }

        if (!broken)
        {
            foreach (var vma in removed)
            {
                PageTable.FreeEmptyTables(vma.Start.PageNumber, vma.End.PageNumber, gather);
            }
        }
    }

    /// <summary>
    /// <c>mm_take_all_locks</c>: every rmap lock of every VMA (the files' i_mmap locks, then the anon_vma roots), each
    /// once, for write. <c>mmu_notifier_register</c> holds them with the mmap write lock so that no notifier section is
    /// open when a new subscriber joins: rmap walkers run their start/end under these locks, not the mmap lock.
    /// Serialized host-wide (<c>mm_all_locks_mutex</c>) because two callers could otherwise take shared locks in
    /// different orders. Caller holds the mmap write lock; dispose to drop them all.
    /// </summary>
    internal AllRmapLocks TakeAllRmapLocks()
    {
        Debug.Assert(_mmapLock.IsWriteLockHeld, "mm_take_all_locks: caller holds the mmap lock for write");
        // Each lock once, in first-seen order; the sets keep this linear in the number of VMAs (the kernel marks
        // each mapping and anon_vma with a bit instead: AS_MM_ALL_LOCKS, the root's rb_root low bit).
        var files = new List<RwSemaphore>();
        var roots = new List<RwSemaphore>();
        var seen = new HashSet<RwSemaphore>(ReferenceEqualityComparer.Instance);
        foreach (var vma in _vmas)
        {
            if (vma.File is { } file && seen.Add(file.IMmapLock))
            {
                files.Add(file.IMmapLock);
            }

            if (vma.Chain.Count > 0 && seen.Add(vma.Chain[0].Lock))
            {
                roots.Add(vma.Chain[0].Lock);
            }
        }

        return new AllRmapLocks(Host.AllLocksMutex, [.. files, .. roots]);
    }

    /// <summary>The locks <see cref="TakeAllRmapLocks"/> holds, released in reverse order on dispose.</summary>
    internal readonly struct AllRmapLocks : IDisposable
    {
        private readonly ProtocolLock _mutex;
        private readonly List<RwSemaphore> _held;

        public AllRmapLocks(ProtocolLock mutex, List<RwSemaphore> locks)
        {
            _mutex = mutex;
            _held = locks;
            _mutex.Enter();
            foreach (var rwsem in locks)
            {
                rwsem.EnterWriteLock();
            }
        }

        public void Dispose()
        {
            for (var i = _held.Count - 1; i >= 0; i--)
            {
                _held[i].ExitWriteLock();
            }

            _mutex.Exit();
        }
    }

    [Conditional("DEBUG")]
    private void AssertMmapLockHeld(string what) =>
        Debug.Assert(MmapLockHeldByCurrentThread, $"{what}: caller holds the mmap lock");

    /// <summary>
    /// <c>vma_prepare</c> … <c>vma_complete</c>: the file's i_mmap lock, then the anon_vma root lock, both for write,
    /// around a change of a VMA's bounds or page offset.
    /// </summary>
    private readonly struct VmaPrepareScope : IDisposable
    {
        private readonly FileObject? _file;
        private readonly AnonVma? _root;

        public VmaPrepareScope(Vma vma)
        {
            _file = vma.File;
            _root = vma.Chain.Count > 0 ? vma.Chain[0].Root : null;
            _file?.IMmapLock.EnterWriteLock();
            _root?.Lock.EnterWriteLock();
        }

        public void Dispose()
        {
            _root?.Lock.ExitWriteLock();
            _file?.IMmapLock.ExitWriteLock();
        }
    }
}
