using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Changing protections: <c>mprotect</c> and <c>fork</c>'s write-protection of private memory.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>mprotect</c>: sets the protection of [start, end) (splitting VMAs), with range start/end
    /// (<see cref="NotifierEvent.ProtectionVma"/>) around the PTE changes. Removing write clears the PTEs' write
    /// bit; adding it leaves PTEs read-only, so the next write faults (and reuses or copies the page).
    /// </summary>
    public HostStatus Mprotect(Hva start, ulong length, Protection protection)
    {
        using var _ = WriteLock();
        var status = SplitForRange(start, length, out var end);
        if (status != HostStatus.Ok)
        {
            return status;
        }

        foreach (var vma in _vmas.Where(v => v.Start >= start && v.End <= end))
        {
            vma.Protection = protection;
        }

        var range = new NotifierRange(start, end, NotifierEvent.ProtectionVma, InvalidationCause.Mprotect);
        Notifiers.InvalidateRangeStart(range);
        if ((protection & Protection.Write) == 0)
        {
            ClearWriteBits(start.PageNumber, end.PageNumber);
        }

        Notifiers.InvalidateRangeEnd(range);
        Host.Count(HostCounter.Mprotects);
        return HostStatus.Ok;
    }

    /// <summary>
    /// The common start of an operation on whole VMAs (mprotect, madvise(MADV_[NO]HUGEPAGE)): a page-aligned, non-empty
    /// range of a live space that VMAs cover entirely, split so that VMAs begin and end at its edges. Caller holds the
    /// mmap lock for write.
    /// </summary>
    private HostStatus SplitForRange(Hva start, ulong length, out Hva end)
    {
        System.Diagnostics.Debug.Assert(_mmapLock.IsWriteLockHeld, "a VMA range operation holds the mmap lock for write");
        end = start;
        if (!start.IsPageAligned || length == 0 || (length & Hva.PageMask) != 0)
        {
            return HostStatus.Invalid;
        }

        if (_dead)
        {
            return HostStatus.Dead;
        }

        end = start + length;
        if (!IsFullyMapped(start, end))
        {
            return HostStatus.NoVma;
        }

        SplitAt(start);
        SplitAt(end);
        return HostStatus.Ok;
    }

    /// <summary><c>fork</c>, for callers that treat running out of memory as a bug (tests): throws instead.</summary>
    public AddressSpace Fork(string childName) =>
        TryFork(childName, out var child) == HostStatus.Ok ? child! : throw new InvalidOperationException($"fork of '{Name}' ran out of memory");

    /// <summary>
    /// <c>fork</c> (<c>dup_mmap</c> / <c>copy_page_range</c>): the child gets copies of the VMAs and PTEs sharing
    /// the same frames. Each child VMA is linked into the reverse maps (<c>anon_vma_fork</c>, i_mmap) before its PTEs
    /// are copied, so an rmap walk from a shared page finds the child as soon as it maps it (P5). Private mappings are
    /// write-protected in both, inside a range start/end (<see cref="NotifierEvent.ProtectionPage"/>) on the parent,
    /// so the next write on either side copies. The child starts with no notifiers. Out of memory for a child page
    /// table: the child is torn down and <see cref="HostStatus.OutOfMemory"/> returned (<c>-ENOMEM</c>).
    /// </summary>
    public HostStatus TryFork(string childName, out AddressSpace? child)
    {
        child = null;
        using (WriteLock())
        {
            if (_dead)
            {
                throw new InvalidOperationException($"cannot fork '{Name}': it has exited");
            }

            var copy = new AddressSpace(Host, childName, Profile) { _nextMmapBase = _nextMmapBase };
            var copied = true;
            foreach (var vma in _vmas)
            {
                var childVma = vma.CloneRange(copy, vma.Start, vma.End);
                LinkForkedVma(childVma, vma);
                copy._vmas.Add(childVma);
                var range = new NotifierRange(vma.Start, vma.End, NotifierEvent.ProtectionPage, InvalidationCause.Fork);
                if (vma.IsCowMapping)
                {
                    Notifiers.InvalidateRangeStart(range);
                }

                copied = CopyPageRange(copy, vma);
                if (vma.IsCowMapping)
                {
                    Notifiers.InvalidateRangeEnd(range);
                }

                if (!copied)
                {
                    break;
                }
            }

            if (copied)
            {
                Host.Count(HostCounter.Forks);
                Host.Track(copy);
                child = copy;
                return HostStatus.Ok;
            }

            child = copy;
        }

        // dup_mmap failed: the half-built child exits (outside the parent's lock; it takes its own).
        child.Exit();
        child = null;
        return CountFailure(HostStatus.OutOfMemory);
    }

    /// <summary>
    /// <c>copy_page_range</c> → <c>copy_pte_range</c>: both page-table locks, the child's first (<c>dst_ptl</c>, then
    /// <c>src_ptl</c> nested), since rmap walkers can already reach the child's VMA. False if a child table could not
    /// be allocated.
    /// </summary>
    private bool CopyPageRange(AddressSpace child, Vma vma)
    {
        var startVpn = vma.Start.PageNumber;
        var endVpn = vma.End.PageNumber;
        var cow = vma.IsCowMapping;
        var ok = true;
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            if (!ok || !child.PageTable.TryGetOrCreate(baseVpn, out var childTable))
            {
                ok = false;
                return;
            }

            using (childTable.Ptl.Enter())
            using (table.Ptl.Enter())
            {
                if (table.Pmd != 0)
                {
                    CopyHugePmd(table, childTable, cow);
                    return;
                }

                for (var j = from; j < to; j++)
                {
                    var pte = table.Slots[j];
                    if (pte == 0)
                    {
                        continue;
                    }

                    if (Pte.IsPresent(pte))
                    {
                        if (cow && Pte.IsWritable(pte))
                        {
                            pte &= ~Pte.Writable;
                            Volatile.Write(ref table.Slots[j], pte);
                        }

                        Memory.AddMapping(Pte.PfnOf(pte));
                        // copy_present_pte: the child's copy is old, and clean for shared mappings.
                        pte &= ~Pte.Accessed;
                        if (!cow)
                        {
                            pte &= ~Pte.Dirty;
                        }
                    }
                    else if (Pte.IsSwap(pte))
                    {
                        Host.Swap.Duplicate(Pte.SwapSlotOf(pte));
                    }
                    else if (Pte.IsMigration(pte) && cow && Pte.IsWritable(pte)
                        && (Host.Mutations & HostMutations.ForkKeepsWritableMigrationEntry) == 0)
                    {
                        // copy_nonpresent_pte: a migration in flight (try_to_migrate never takes the mmap lock) left
                        // a writable migration entry; a COW mapping needs both copies read-only, or
                        // remove_migration_ptes maps the new page writable into parent and child alike.
                        pte &= ~Pte.Writable;
                        Volatile.Write(ref table.Slots[j], pte);
                    }

                    Volatile.Write(ref childTable.Slots[j], pte);
                    childTable.Used++;
                }
            }
        });
        return ok;
    }

    /// <summary>
    /// <c>change_pte_range</c> removing write permission: present entries lose it, and so do writable migration
    /// entries (<c>make_readable_migration_entry</c>) — a migration in flight does not take the mmap lock, and
    /// <c>remove_migration_ptes</c> would otherwise bring the write permission back after mprotect returned.
    /// </summary>
    private void ClearWriteBits(ulong startVpn, ulong endVpn) =>
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            if (table.IsHugeMapped && (from != 0 || to != PteTable.Entries))
            {
                SplitHugePmd(table, baseVpn); // change_pmd_range: a partly covered huge mapping is split first
            }

            var downgradeMigration = (Host.Mutations & HostMutations.MprotectKeepsWritableMigrationEntry) == 0;
            using (table.Ptl.Enter())
            {
                var pmd = table.Pmd;
                if ((Pte.IsPresent(pmd) || (downgradeMigration && Pte.IsMigration(pmd))) && Pte.IsWritable(pmd))
                {
                    Volatile.Write(ref table.Pmd, pmd & ~Pte.Writable); // change_huge_pmd, inside the caller's range
                    return;
                }

                for (var j = from; j < to; j++)
                {
                    var pte = table.Slots[j];
                    if ((Pte.IsPresent(pte) || (downgradeMigration && Pte.IsMigration(pte))) && Pte.IsWritable(pte))
                    {
                        Volatile.Write(ref table.Slots[j], pte & ~Pte.Writable);
                    }
                }
            }
        });
}
