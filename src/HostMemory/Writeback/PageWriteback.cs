using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;

namespace Hypervisor.HostMemory.Writeback;

/// <summary>
/// Writeback of dirty page-cache pages (<c>folio_clear_dirty_for_io</c> + <c>writepage</c>): every mapping of a
/// dirty page is write-protected and cleaned (<c>page_mkclean</c>, with a <see cref="NotifierEvent.ProtectionPage"/>
/// invalidation so secondaries drop their writable entries), then the content goes to the backing store. The
/// next write through any mapping faults (<c>do_wp_page</c>'s shared path) and dirties the page again.
/// </summary>
/// <remarks>
/// There is no page lock between the fault path and writeback here, so the order is chosen to lose nothing:
/// clear the page's dirty flag first, then clean the mappings (a dirty PTE bit found there also counts), then read
/// the content. A write that lands after the read must first make a PTE writable again, and every way of doing
/// that marks the page dirty, so it is written by the next pass.
/// </remarks>
public sealed class PageWriteback
{
    private const int BatchPages = 4096;

    private readonly HostSystem _host;

    public PageWriteback(HostSystem host) => _host = host;

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>Writes back every dirty page of every file (shared memory has no backing store and is skipped).</summary>
    public WritebackResult WritebackPass()
    {
        var batch = new List<DirtyPage>();
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

                if (!Memory.TestAndClearFlags(pfn, FrameFlags.Dirty))
                {
                    Memory.Put(pfn);
                    continue;
                }

                batch.Add(new DirtyPage(file, index, pfn));
                if (batch.Count == BatchPages)
                {
                    Flush(batch, ref written, ref cleaned);
                }
            }
        }

        Flush(batch, ref written, ref cleaned);
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

    /// <summary>Cleans every mapping of the batch's pages, one address space at a time, then writes them and drops the references.</summary>
    private void Flush(List<DirtyPage> batch, ref long written, ref long cleaned)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // NextCached walks each file in index order, so each file's pages form an ascending run.
        foreach (var mm in _host.LiveAddressSpaces())
        {
            using var scope = mm.EnterScan(); // waits: a mapping left writable would defeat the cleaning
            if (mm.IsDead)
            {
                continue;
            }

            foreach (var vma in mm.VmasLocked)
            {
                if (vma.File is not { IsShmem: false })
                {
                    continue;
                }

                foreach (var page in batch)
                {
                    if (FileMappings.TryAddressOf(vma, page.File, page.Index, out var hva))
                    {
                        cleaned += MkcleanOne(mm, hva, page.Pfn) ? 1 : 0;
                    }
                }
            }
        }

        foreach (var page in batch)
        {
            Write(_host, page.File, page.Index, page.Pfn);
            written++;
            Memory.Put(page.Pfn);
        }

        batch.Clear();
    }

    /// <summary><c>page_mkclean_one</c>: write-protect and clean one mapping of <paramref name="pfn"/>, if writable or dirty.</summary>
    private static bool MkcleanOne(AddressSpace mm, Hva hva, Pfn pfn)
    {
        var vpn = hva.PageNumber;
        if (mm.PageTable.Find(vpn) is not { } table)
        {
            return false;
        }

        var i = PageTable.PteIndex(vpn);
        var pte = Volatile.Read(ref table.Slots[i]);
        if (!Pte.IsPresent(pte) || Pte.PfnOf(pte) != pfn || (pte & (Pte.Writable | Pte.Dirty)) == 0)
        {
            return false;
        }

        var inv = new PageInvalidation(mm, hva, NotifierEvent.ProtectionPage, InvalidationCause.Writeback);
        if (!inv.Start())
        {
            return false;
        }

        var changed = false;
        using (table.Ptl.Enter())
        {
            pte = table.Slots[i];
            if (Pte.IsPresent(pte) && Pte.PfnOf(pte) == pfn && (pte & (Pte.Writable | Pte.Dirty)) != 0)
            {
                // The dirty bit moves to the page; this pass writes it (its flag was cleared when collected).
                Volatile.Write(ref table.Slots[i], pte & ~(Pte.Writable | Pte.Dirty));
                changed = true;
            }
        }

        inv.AfterPteChange(changed);
        inv.End();
        inv.AfterFree(changed);
        return changed;
    }

    private readonly record struct DirtyPage(FileObject File, long Index, Pfn Pfn);
}
