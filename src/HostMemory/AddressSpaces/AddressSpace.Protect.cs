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
        if (!start.IsPageAligned || length == 0 || (length & Hva.PageMask) != 0)
        {
            return HostStatus.Invalid;
        }

        using var _ = WriteLock();
        if (_dead)
        {
            return HostStatus.Dead;
        }

        var end = start + length;
        if (!IsFullyMapped(start, end))
        {
            return HostStatus.NoVma;
        }

        SplitAt(start);
        SplitAt(end);
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
    /// <c>fork</c> (<c>dup_mmap</c> / <c>copy_page_range</c>): the child gets copies of the VMAs and PTEs sharing
    /// the same frames. Private mappings are write-protected in both, inside a range start/end
    /// (<see cref="NotifierEvent.ProtectionPage"/>) on the parent, so the next write on either side copies.
    /// The child starts with no notifiers.
    /// </summary>
    public AddressSpace Fork(string childName)
    {
        using var _ = WriteLock();
        if (_dead)
        {
            throw new InvalidOperationException($"cannot fork '{Name}': it has exited");
        }

        var child = new AddressSpace(Host, childName, Profile) { _nextMmapBase = _nextMmapBase };
        foreach (var vma in _vmas)
        {
            child._vmas.Add(vma.CloneRange(vma.Start, vma.End));
            var range = new NotifierRange(vma.Start, vma.End, NotifierEvent.ProtectionPage, InvalidationCause.Fork);
            if (vma.IsCowMapping)
            {
                Notifiers.InvalidateRangeStart(range);
            }

            CopyPageRange(child, vma);
            if (vma.IsCowMapping)
            {
                Notifiers.InvalidateRangeEnd(range);
            }
        }

        Host.Count(HostCounter.Forks);
        Host.Track(child); // only now: the scanners must not see the child's tables while they are being copied
        return child;
    }

    private void CopyPageRange(AddressSpace child, Vma vma)
    {
        var startVpn = vma.Start.PageNumber;
        var endVpn = vma.End.PageNumber;
        var cow = vma.IsCowMapping;
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            var childTable = child.PageTable.GetOrCreate(baseVpn);
            using (table.Ptl.Enter())
            {
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

                    Volatile.Write(ref childTable.Slots[j], pte);
                    childTable.Used++;
                }
            }
        });
    }

    private void ClearWriteBits(ulong startVpn, ulong endVpn) =>
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            using (table.Ptl.Enter())
            {
                for (var j = from; j < to; j++)
                {
                    var pte = table.Slots[j];
                    if (Pte.IsPresent(pte) && Pte.IsWritable(pte))
                    {
                        Volatile.Write(ref table.Slots[j], pte & ~Pte.Writable);
                    }
                }
            }
        });
}
