using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Writeback;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>Evicting one cold mapping: <c>try_to_unmap_one</c> plus <c>pageout</c> for one PTE.</summary>
public sealed partial class ReclaimScanner
{
    private PhysicalMemory Memory => _host.Memory;

    private void TryEvict(AddressSpace mm, Vma vma, PteTable table, int entry, ulong vpn, ReclaimPassState pass)
    {
        var pte = Volatile.Read(ref table.Slots[entry]);
        if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).IsZeroPage)
        {
            return;
        }

        // An unlocked hint only: the page-table lock re-checks everything before a change.
        var pfn = Pte.PfnOf(pte);
        var flags = Memory.Flags(pfn);
        if ((flags & FrameFlags.Ksm) != 0)
        {
            return; // KSM pages are not swapped in this model
        }

        if ((flags & FrameFlags.Anon) != 0)
        {
            if (SwapEnabled && !pass.Swap.Full)
            {
                SwapOut(mm, table, entry, Hva.FromPage(vpn), pfn, pass);
            }
        }
        else if ((flags & FrameFlags.PageCache) != 0 && vma.File is { IsShmem: false } file)
        {
            EvictFilePage(mm, file, vma.FileIndex(vpn), table, entry, Hva.FromPage(vpn), pfn, pass);
        }
    }

    /// <summary>
    /// Swaps out one anonymous mapping. The PTE first becomes a migration entry (faulters wait), the secondaries
    /// drop the page, and only then is the content read and stored: nobody can write the page any more, so the
    /// slot gets its final content (<c>pageout</c> after <c>try_to_unmap</c>). Then the PTE becomes the swap
    /// entry and the mapping's reference is dropped, after every notifier has returned.
    /// </summary>
    private void SwapOut(AddressSpace mm, PteTable table, int entry, Hva hva, Pfn pfn, ReclaimPassState pass)
    {
        var inv = new PageInvalidation(mm, hva, NotifierEvent.Clear, InvalidationCause.Reclaim);
        if (!inv.Start())
        {
            return;
        }

        ulong migration = 0;
        var moreMappings = false;
        using (table.Ptl.Enter())
        {
            var pte = table.Slots[entry];
            var state = Memory.StateOf(pfn);
            // Not touched since aging (unless youth is ignored); still this anonymous, non-KSM page; no reference beyond its mappings
            // (a pinned page would not be freed: try_to_unmap's caller would keep it).
            if (Pte.IsPresent(pte) && Pte.PfnOf(pte) == pfn && (pass.IgnoreYoung || (pte & Pte.Accessed) == 0)
                && (FrameState.Flags(state) & (FrameFlags.Anon | FrameFlags.Ksm)) == FrameFlags.Anon
                && FrameState.RefCount(state) == FrameState.MapCount(state))
            {
                if ((pte & Pte.Dirty) != 0)
                {
                    Memory.MarkDirty(pfn);
                }

                migration = Pte.MakeMigration(pte);
                Volatile.Write(ref table.Slots[entry], migration);
                Memory.RemoveMapping(pfn);
                moreMappings = FrameState.MapCount(state) > 1;
            }
        }

        var changed = migration != 0;
        inv.AfterPteChange(changed);
        var restored = false;
        if (changed)
        {
            var content = Memory.Read(pfn, new AccessSite("reclaim", -1, hva.PageNumber));
            var stored = pass.Swap.TryStore(pfn, content, moreMappings, out var slot);
            var swapped = false;
            using (table.Ptl.Enter())
            {
                if (table.Slots[entry] == migration)
                {
                    if (stored)
                    {
                        Volatile.Write(ref table.Slots[entry], Pte.MakeSwap(slot));
                        swapped = true;
                    }
                    else
                    {
                        // Swap is full: map the page again as it was (its reference never left).
                        Volatile.Write(ref table.Slots[entry], (migration & ~Pte.Migration) | Pte.Present);
                        Memory.AddMappingKeepRef(pfn);
                        restored = true;
                    }
                }
            }

            if (stored && !swapped)
            {
                _host.Swap.Free(slot); // MADV_DONTNEED zapped the entry meanwhile: the page is gone anyway
            }

            if (swapped)
            {
                pass.SwappedOut++;
                _host.Count(HostCounter.SwapOuts);
            }
        }

        inv.End();
        if (changed && !restored)
        {
            // Nobody can take a new reference to an unmapped anonymous page, so a count of one is ours alone.
            if (Memory.RefCount(pfn) == 1)
            {
                pass.FramesFreed++;
            }

            Memory.Put(pfn);
        }

        inv.AfterFree(changed);
    }

    /// <summary>
    /// Unmaps one mapping of a page-cache page. When it was the page's last mapping the page is cleaned (written
    /// back if dirty) and dropped from the cache, unless someone took a new reference meanwhile
    /// (<c>__remove_mapping</c>'s reference freeze).
    /// </summary>
    private void EvictFilePage(AddressSpace mm, FileObject file, long index, PteTable table, int entry, Hva hva, Pfn pfn, ReclaimPassState pass)
    {
        var inv = new PageInvalidation(mm, hva, NotifierEvent.Clear, InvalidationCause.Reclaim);
        if (!inv.Start())
        {
            return;
        }

        var changed = false;
        using (table.Ptl.Enter())
        {
            var pte = table.Slots[entry];
            if (Pte.IsPresent(pte) && Pte.PfnOf(pte) == pfn && (pass.IgnoreYoung || (pte & Pte.Accessed) == 0)
                && (Memory.Flags(pfn) & FrameFlags.PageCache) != 0)
            {
                if ((pte & Pte.Dirty) != 0)
                {
                    Memory.MarkDirty(pfn);
                }

                Volatile.Write(ref table.Slots[entry], 0UL);
                table.Used--;
                Memory.RemoveMapping(pfn);
                changed = true;
            }
        }

        inv.AfterPteChange(changed);
        inv.End();
        if (changed)
        {
            pass.FileUnmapped++;
            if (Memory.MapCount(pfn) == 0)
            {
                if (PageWriteback.WriteBackIfDirty(_host, file, index, pfn))
                {
                    pass.WrittenBack++;
                }

                // Two references: the cache's and the one of the mapping just removed (which this code holds).
                if (file.TryFreezeAndReplace(index, pfn, null, Memory, expectedRefs: 2))
                {
                    Memory.Put(pfn);
                    pass.FramesFreed++;
                }
            }

            Memory.Put(pfn);
        }

        inv.AfterFree(changed);
    }
}
