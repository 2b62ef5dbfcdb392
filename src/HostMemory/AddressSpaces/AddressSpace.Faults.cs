using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Host page faults (<c>handle_mm_fault</c>): demand, file, swap-in and write-protect faults.</summary>
public sealed partial class AddressSpace
{
    /// <summary>A page-table entry that no correct path makes (a stale migration entry, a torn write): <c>print_bad_pte</c>.</summary>
    public static readonly ViolationKind BadPteKind = new("bad-pte");

    /// <summary>
    /// Resolves a fault at virtual page <paramref name="vpn"/> of <paramref name="vma"/>. Caller holds the mmap lock
    /// for read. <see cref="HostStatus.Ok"/> means the caller should walk again: the PTE now allows the access, or a
    /// racing thread changed it first.
    /// </summary>
    internal HostStatus HandleFault(Vma vma, ulong vpn, bool write)
    {
        if (write ? !vma.CanWrite : !vma.CanRead)
        {
            return HostStatus.AccessDenied;
        }

        if (_oomReaped)
        {
            return HostStatus.Dead; // check_stable_address_space: the OOM reaper took this space's memory
        }

        if (!PageTable.TryGetOrCreate(vpn, out var table))
        {
            return CountFailure(HostStatus.OutOfMemory);
        }

        var pmd = Volatile.Read(ref table.Pmd);
        if (pmd != 0)
        {
            return HugePmdFault(vma, vpn, table, pmd, write);
        }

        if (Volatile.Read(ref table.Used) == 0 && vma.File is null && HugePageAllowed(vma, vpn)
            && TryHugeAnonymousFault(vma, vpn, table, out var hugeStatus))
        {
            return hugeStatus;
        }

        var i = PageTable.PteIndex(vpn);
        var pte = Volatile.Read(ref table.Slots[i]);
        if (Pte.IsMigration(pte))
        {
            return MigrationEntryWait(table, i, pte);
        }

        if (Pte.IsNone(pte))
        {
            return vma.File switch
            {
                null => AnonymousFault(vma, vpn, table, i, write),
                { IsXip: true } => XipFault(vma, vpn, table, i, write),
                _ => FileFault(vma, vpn, table, i, write),
            };
        }

        if (Pte.IsSwap(pte))
        {
            return SwapInFault(vma, vpn, table, i, pte, write);
        }

        if (!Pte.IsPresent(pte))
        {
            return BadPte(table, i, pte, vpn);
        }

        if (write && !Pte.IsWritable(pte))
        {
            return WriteProtectFault(vma, vpn, table, i, pte);
        }

        return HostStatus.Ok; // spurious: a racing fault already fixed it
    }

    /// <summary>
    /// <c>migration_entry_wait</c>: a migration holds the old page's lock from before <c>try_to_migrate</c> until after
    /// <c>remove_migration_ptes</c>, so while it is locked, wait and walk again. An entry still there once the page is
    /// unlocked was left behind by a broken walker: reported, and the fault fails instead of waiting forever.
    /// </summary>
    private HostStatus MigrationEntryWait(PteTable table, int i, ulong pte)
    {
        if (Memory.IsPageLocked(Pte.PfnOf(pte)))
        {
            SchedulingPoint.Yield("migration_entry_wait");
            return HostStatus.Ok;
        }

        using (table.Ptl.Enter())
        {
            if (table.Slots[i] != pte)
            {
                return HostStatus.Ok; // the migration finished meanwhile
            }
        }

        return BadPte(table, i, pte, ulong.MaxValue);
    }

    /// <summary><c>print_bad_pte</c>: an entry no path of the host can have made; reported, and the access fails.</summary>
    private HostStatus BadPte(PteTable table, int i, ulong pte, ulong vpn)
    {
        Host.Violations.Report(BadPteKind, new AccessSite(Name, -1, vpn), -1,
            $"bad page-table entry 0x{pte:x} at index {i} of page table (frame {table.Frame.Value}; -1: its PMD)");
        return HostStatus.Invalid;
    }

    /// <summary><c>do_anonymous_page</c>: a read maps the shared zero page read-only; a write gets a zeroed frame.</summary>
    private HostStatus AnonymousFault(Vma vma, ulong vpn, PteTable table, int i, bool write)
    {
        if (!write)
        {
            Install(table, i, Pfn.Zero, Pte.Accessed, takeOverRef: false);
            Host.Count(HostCounter.ZeroPageMaps);
            return HostStatus.Ok;
        }

        if (!Memory.TryAllocate(FrameFlags.Anon, 0, out var pfn))
        {
            Host.Count(HostCounter.OutOfMemory);
            return HostStatus.OutOfMemory;
        }

        SetAnonRmap(vma, vpn, pfn);
        Install(table, i, pfn, Pte.Writable | Pte.Dirty | Pte.Accessed, takeOverRef: true);
        Host.Count(HostCounter.AnonymousFaults);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>do_read_fault</c> / <c>do_cow_fault</c> / <c>do_shared_fault</c>: maps the page-cache page, or a private
    /// copy of it for a write to a private mapping. A shared page is mapped read-only on a read fault when the file
    /// does dirty accounting (<see cref="FileObject.WriteNotify"/>), writable and clean otherwise.
    /// </summary>
    private HostStatus FileFault(Vma vma, ulong vpn, PteTable table, int i, bool write)
    {
        var status = vma.File!.GetPage(vma.FileIndex(vpn), Memory, out var page);
        if (status != HostStatus.Ok)
        {
            return CountFailure(status);
        }

        Host.Count(HostCounter.FileFaults);
        if (vma.IsCowMapping && write)
        {
            if (!Memory.TryAllocate(FrameFlags.Anon, 0, out var copy))
            {
                Memory.Put(page);
                return CountFailure(HostStatus.OutOfMemory);
            }

            Memory.Copy(page, copy, new AccessSite("cow", -1, vpn));
            Memory.Put(page);
            SetAnonRmap(vma, vpn, copy);
            Install(table, i, copy, Pte.Writable | Pte.Dirty | Pte.Accessed, takeOverRef: true);
            return HostStatus.Ok;
        }

        var writable = vma.IsShared && vma.CanWrite && (write || !vma.File.WriteNotify);
        var bits = Pte.Accessed | (writable ? Pte.Writable : 0) | (write ? Pte.Dirty : 0);
        if (write)
        {
            Memory.MarkDirty(page);
        }

        Install(table, i, page, bits, takeOverRef: true);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>do_wp_page</c>: a write to a present read-only PTE of a writable VMA. Shared mappings are made writable
    /// in place (<c>wp_page_shared</c>); a private anonymous page with a single mapper and no other reference is
    /// reused (<c>wp_can_reuse_anon_folio</c>); anything else is copied (<c>wp_page_copy</c>).
    /// </summary>
    private HostStatus WriteProtectFault(Vma vma, ulong vpn, PteTable table, int i, ulong pte)
    {
        var old = Pte.PfnOf(pte);
        if (old.IsZeroPage && vma.IsShared && vma.File is { IsXip: true })
        {
            return XipWriteOverSparse(vma, vpn);
        }

        using (table.Ptl.Enter())
        {
            if (table.Slots[i] != pte)
            {
                return HostStatus.Ok;
            }

            if (vma.IsShared || CanReuseAnonymous(old))
            {
                Volatile.Write(ref table.Slots[i], pte | Pte.Writable | Pte.Dirty | Pte.Accessed);
                Memory.MarkDirty(old);
                Memory.ClearWriteWatch(old);
                Host.Count(HostCounter.WriteProtectReuses);
                return HostStatus.Ok;
            }

            Memory.Get(old); // keeps the old page alive while it is copied without the PTL
        }

        return CopyOnWrite(vma, vpn, table, i, pte, old);
    }

    private bool CanReuseAnonymous(Pfn pfn)
    {
        if (pfn.IsZeroPage)
        {
            return false;
        }

        var state = Memory.StateOf(pfn);
        var flags = FrameState.Flags(state);
        return (flags & FrameFlags.Anon) != 0 && (flags & FrameFlags.Ksm) == 0
            && FrameState.MapCount(state) == 1 && FrameState.RefCount(state) == 1;
    }

    /// <summary>
    /// <c>wp_page_copy</c>. Modern: range start before the PTE change, end after, old page put after the end.
    /// Legacy: <c>InvalidatePage</c> after the PTE change, outside the PTL, before the old page is put.
    /// The caller holds one extra reference on <paramref name="old"/>.
    /// </summary>
    private HostStatus CopyOnWrite(Vma vma, ulong vpn, PteTable table, int i, ulong pte, Pfn old)
    {
        if (!Memory.TryAllocate(FrameFlags.Anon, 0, out var fresh))
        {
            Memory.Put(old);
            return CountFailure(HostStatus.OutOfMemory);
        }

        if (!old.IsZeroPage)
        {
            Memory.Copy(old, fresh, new AccessSite("cow", -1, vpn));
        }

        SetAnonRmap(vma, vpn, fresh);

        var hva = Hva.FromPage(vpn);
        var range = NotifierRange.OnePage(hva, NotifierEvent.Clear, InvalidationCause.CopyOnWrite);
        var modern = Profile == NotifierProfile.Modern;
        if (modern)
        {
            Notifiers.InvalidateRangeStart(range);
        }

        var replaced = false;
        using (table.Ptl.Enter())
        {
            if (table.Slots[i] == pte)
            {
                Volatile.Write(ref table.Slots[i], Pte.Make(fresh, Pte.Writable | Pte.Dirty | Pte.Accessed));
                Memory.AddMappingKeepRef(fresh);
                Memory.RemoveMapping(old);
                replaced = true;
            }
        }

        if (modern)
        {
            Notifiers.InvalidateRangeEnd(range);
        }

        if (!replaced)
        {
            Memory.Put(fresh);
            Memory.Put(old);
            return HostStatus.Ok;
        }

        Host.Count(HostCounter.CowFaults);
        if (!old.IsZeroPage && (Memory.Flags(old) & FrameFlags.Ksm) != 0)
        {
            Host.Count(HostCounter.KsmUnmerges); // a write broke a KSM merge (break_ksm by COW)
        }

        var refs = old.IsZeroPage ? 1 : 2; // our extra reference, plus the removed mapping's
        if (modern)
        {
            PutRefs(old, refs);
        }
        else
        {
            LegacyInvalidatePageThenPut(hva, InvalidationCause.CopyOnWrite, old, refs);
        }

        return HostStatus.Ok;
    }

    /// <summary>
    /// The legacy single-page call site: <c>InvalidatePage</c> after the PTE change and before the page can be
    /// freed. The <see cref="HostMutations.LegacyInvalidateAfterFree"/> mutation swaps the two.
    /// </summary>
    internal void LegacyInvalidatePageThenPut(Hva hva, InvalidationCause cause, Pfn page, int refs)
    {
        if ((Host.Mutations & HostMutations.LegacyInvalidateAfterFree) != 0)
        {
            PutRefs(page, refs);
            Notifiers.InvalidatePage(hva, cause);
            return;
        }

        Notifiers.InvalidatePage(hva, cause);
        PutRefs(page, refs);
    }

    private void PutRefs(Pfn page, int refs)
    {
        for (var r = 0; r < refs; r++)
        {
            Memory.Put(page);
        }
    }

    /// <summary>Installs a PTE if the slot is still empty; otherwise drops the reference meant for it.</summary>
    private void Install(PteTable table, int i, Pfn pfn, ulong bits, bool takeOverRef)
    {
        var installed = false;
        using (table.Ptl.Enter())
        {
            if (table.Slots[i] == 0)
            {
                Volatile.Write(ref table.Slots[i], Pte.Make(pfn, bits));
                table.Used++;
                if (takeOverRef)
                {
                    Memory.AddMappingKeepRef(pfn);
                }

                if ((bits & Pte.Writable) != 0)
                {
                    Memory.ClearWriteWatch(pfn);
                }

                installed = true;
            }
        }

        if (!installed && takeOverRef)
        {
            Memory.Put(pfn);
        }
    }

    private HostStatus CountFailure(HostStatus status)
    {
        if (status == HostStatus.OutOfMemory)
        {
            Host.Count(HostCounter.OutOfMemory);
        }

        return status;
    }
}
