using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.Writeback;

/// <summary>
/// Writeback of dirty page-cache pages (<c>folio_clear_dirty_for_io</c> + <c>writepage</c>): every mapping of a
/// dirty page is write-protected and cleaned through the reverse map (<c>folio_mkclean</c>, with a
/// <see cref="NotifierEvent.ProtectionPage"/> invalidation per VMA so secondaries drop their writable entries), then the
/// content goes to the backing store. The next write through any mapping faults (<c>do_wp_page</c>'s shared path)
/// and dirties the page again.
/// </summary>
/// <remarks>
/// Locks, as the kernel's: a reference and the page lock for the whole page; <c>i_mmap_rwsem</c> for read during the
/// walk; each mapping's page-table lock. No mmap lock. The shared write fault here does not take the page lock (the
/// kernel's <c>do_page_mkwrite</c> does), so the order is the one that is safe without it: clear the page's dirty
/// flag first, then clean the mappings (a dirty PTE bit found there also counts), then read the content. A write that
/// lands after the read must first make a PTE writable again, and every way of doing that marks the page dirty, so it
/// is written by the next pass.
/// </remarks>
public sealed class PageWriteback
{
    private readonly HostSystem _host;

    public PageWriteback(HostSystem host) => _host = host;

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>Writes back every dirty page of every file (shared memory has no backing store and is skipped).</summary>
    public WritebackResult WritebackPass()
    {
        long written = 0, cleaned = 0;
        foreach (var file in _host.Files)
        {
            if (file.IsShmem)
            {
                continue;
            }

            for (var index = file.NextCached(0); index >= 0; index = file.NextCached(index + 1))
            {
                if (!file.TryGetCached(index, Memory, out var pfn))
                {
                    continue;
                }

                Memory.LockPage(pfn);
                try
                {
                    // Pages tagged dirty only (PAGECACHE_TAG_DIRTY): folio_clear_dirty_for_io, folio_mkclean, write.
                    if (Memory.TestAndClearFlags(pfn, FrameFlags.Dirty))
                    {
                        cleaned += Memory.MapCount(pfn) > 0 ? FolioMkclean(pfn) : 0;
                        Write(_host, file, index, pfn);
                        written++;
                    }
                }
                finally
                {
                    Memory.UnlockPage(pfn);
                    Memory.Put(pfn);
                }
            }
        }

        return new WritebackResult(written, cleaned);
    }

    /// <summary>
    /// The <c>pageout</c> step of reclaim for a page no PTE maps: if it is dirty, clear the flag and write the
    /// content to the file. The caller holds a reference on <paramref name="pfn"/>.
    /// </summary>
    internal static bool WriteBackIfDirty(HostSystem host, FileObject file, long index, Pfn pfn)
    {
        if (!host.Memory.TestAndClearFlags(pfn, FrameFlags.Dirty))
        {
            return false;
        }

        Write(host, file, index, pfn);
        return true;
    }

    private static void Write(HostSystem host, FileObject file, long index, Pfn pfn)
    {
        file.WriteBack(index, pfn, host.Memory);
        host.Count(HostCounter.Writebacks);
    }

    /// <summary><c>folio_mkclean</c>: cleans every shared mapping of a locked page; returns how many were writable or dirty.</summary>
    private int FolioMkclean(Pfn pfn)
    {
        var one = new MkcleanOne(_host, pfn);
        RmapWalk.Walk(_host, pfn, ref one, tryLock: false);
        return one.Cleaned;
    }

    /// <summary>
    /// <c>page_mkclean_one</c> for one VMA (shared mappings only: a private one never maps a page-cache page
    /// writable). Modern: <c>range_start(PROTECTION_PAGE)</c> before the page-table lock, end after. Legacy2008:
    /// <c>invalidate_page</c> after <c>pte_unmap_unlock</c> if the entry was cleaned.
    /// </summary>
    private struct MkcleanOne(HostSystem host, Pfn pfn) : IRmapOne
    {
        public int Cleaned;

        public bool Visit(Vma vma, Hva address)
        {
            if (!vma.IsShared)
            {
                return true;
            }

            var inv = new PageInvalidation(vma.Mm, address, NotifierEvent.ProtectionPage, InvalidationCause.Writeback);
            if (!inv.Start())
            {
                return true;
            }

            var changed = false;
            if (MappedPte.TryMap(host, vma, address, pfn, "folio_mkclean", migration: false, out var mapped))
            {
                using (mapped)
                {
                    if ((mapped.Pte & (Pte.Writable | Pte.Dirty)) != 0)
                    {
                        // ptep_clear_flush, then the entry again, write-protected and clean.
                        Volatile.Write(ref mapped.Entry, mapped.Pte & ~(Pte.Writable | Pte.Dirty));
                        changed = true;
                    }
                }
            }

            inv.AfterPteChange(changed);
            inv.End();
            inv.AfterFree(changed);
            Cleaned += changed ? 1 : 0;
            return true;
        }
    }
}
