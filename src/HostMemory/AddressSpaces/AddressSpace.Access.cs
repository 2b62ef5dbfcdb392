using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary><c>get_user_pages</c> and the VMM's own reads and writes of guest RAM through the primary mapping.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>get_user_pages</c> for one page, on behalf of a caller that is not the CPU (the secondary MMU's fault
    /// path): walks the page table, faults the page in when absent, breaks COW when <paramref name="write"/>, and
    /// returns the frame with one reference the caller must drop exactly once. Marks the PTE accessed (and dirty
    /// for a write), like <c>FOLL_TOUCH</c>.
    /// </summary>
    public GupResult GetUserPages(Hva hva, bool write)
    {
        Host.Count(HostCounter.GetUserPages);
        using var _ = ReadLock();
        if (_dead)
        {
            return GupResult.Failed(HostStatus.Dead);
        }

        var vpn = hva.PageNumber;
        while (true)
        {
            var vma = FindVma(hva);
            if (vma is null)
            {
                return GupResult.Failed(HostStatus.NoVma);
            }

            var table = PageTable.Find(vpn);
            if (table is not null && (write ? vma.CanWrite : vma.CanRead))
            {
                var i = PageTable.PteIndex(vpn);
                using (table.Ptl.Enter())
                {
                    var pte = table.EntryAt(i);
                    if (Pte.IsPresent(pte) && (!write || Pte.IsWritable(pte)))
                    {
                        var pfn = Pte.PfnOf(pte);
                        if (Pte.IsWritable(pte) && !vma.CanWrite)
                        {
                            ReportWritableInReadOnlyVma(hva, pfn);
                        }

                        Memory.Get(pfn);
                        Touch(table, i, write);
                        return new GupResult(HostStatus.Ok, pfn, Pte.IsWritable(pte));
                    }
                }
            }

            var status = HandleFault(vma, vpn, write);
            if (status != HostStatus.Ok)
            {
                return GupResult.Failed(status);
            }
        }
    }

    /// <summary>The VMM reads a word of guest RAM at <paramref name="hva"/> (device emulation, migration...).</summary>
    public HostStatus HostRead(Hva hva, out ulong value)
    {
        Host.Count(HostCounter.HostReads);
        return HostAccess(hva, write: false, 0, out value);
    }

    /// <summary>The VMM writes a word of guest RAM at <paramref name="hva"/>; faults and breaks COW like a CPU store.</summary>
    public HostStatus HostWrite(Hva hva, ulong value)
    {
        Host.Count(HostCounter.HostWrites);
        return HostAccess(hva, write: true, value, out _);
    }

    /// <summary>
    /// Reads a word of guest RAM for an inspection after the run (the summary's memory digest): as
    /// <see cref="HostRead"/>, but not counted as a VMM read, and a private anonymous page never touched reads zero
    /// without being faulted in (no zero-page mapping, no table allocated).
    /// </summary>
    public HostStatus InspectRead(Hva hva, out ulong value)
    {
        value = 0;
        using (ReadLock())
        {
            if (_dead)
            {
                return HostStatus.Dead;
            }

            if (FindVma(hva) is not { } vma)
            {
                return HostStatus.NoVma;
            }

            if (vma.Kind == VmaKind.AnonymousPrivate && Pte.IsNone(PteOf(hva)))
            {
                return HostStatus.Ok;
            }
        }

        return HostAccess(hva, write: false, 0, out value);
    }

    /// <summary>
    /// A CPU access by a VMM thread. The access happens under the page-table lock, which stands in for the CPU TLB
    /// shootdown the kernel would do: a zap or protection change cannot overlap it.
    /// </summary>
    private HostStatus HostAccess(Hva hva, bool write, ulong value, out ulong read)
    {
        read = 0;
        using var _ = ReadLock();
        if (_dead)
        {
            return HostStatus.Dead;
        }

        var vpn = hva.PageNumber;
        var site = AccessSite.Host(hva);
        while (true)
        {
            var vma = FindVma(hva);
            if (vma is null)
            {
                return HostStatus.NoVma;
            }

            var table = PageTable.Find(vpn);
            if (table is not null && (write ? vma.CanWrite : vma.CanRead))
            {
                var i = PageTable.PteIndex(vpn);
                using (table.Ptl.Enter())
                {
                    var pte = table.EntryAt(i);
                    if (Pte.IsPresent(pte) && (!write || Pte.IsWritable(pte)))
                    {
                        var pfn = Pte.PfnOf(pte);
                        if (Pte.IsWritable(pte) && !vma.CanWrite)
                        {
                            ReportWritableInReadOnlyVma(hva, pfn);
                        }

                        if (write)
                        {
                            Memory.Write(pfn, value, site);
                        }
                        else
                        {
                            read = Memory.Read(pfn, site);
                        }

                        Touch(table, i, write);
                        return HostStatus.Ok;
                    }
                }
            }

            var status = HandleFault(vma, vpn, write);
            if (status != HostStatus.Ok)
            {
                return status;
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ReportWritableInReadOnlyVma(Hva hva, Pfn pfn) =>
        Host.Violations.Report(ViolationKind.WritableInReadOnlyVma, AccessSite.Host(hva), pfn.Value,
            $"get_user_pages found frame {pfn.Value} mapped writable at hva 0x{hva.Value:x} of '{Name}', whose VMA is read-only");

    /// <summary>
    /// The PTE currently mapping <paramref name="hva"/> (0 if none); under a PMD leaf, the subpage's entry with the leaf's
    /// bits (<see cref="Pte.Huge"/> cleared). For checks, tests and diagnostics.
    /// </summary>
    public ulong PteOf(Hva hva)
    {
        var table = PageTable.Find(hva.PageNumber);
        return table is null ? 0 : table.EntryAt(PageTable.PteIndex(hva.PageNumber));
    }

    /// <summary>
    /// The PMD leaf mapping <paramref name="hva"/> (present, <see cref="Pte.Huge"/> set), or 0 when the address is not
    /// mapped by one. For checks (P15) and tests.
    /// </summary>
    public ulong HugePmdOf(Hva hva) =>
        PageTable.Find(hva.PageNumber) is { IsHugeMapped: true } table ? Volatile.Read(ref table.Pmd) : 0;

    /// <summary>
    /// <c>FOLL_TOUCH</c> / the CPU's A and D bits: on the PMD leaf if one maps the slot, else on the PTE. Caller holds the
    /// page-table lock.
    /// </summary>
    private static void Touch(PteTable table, int i, bool write)
    {
        var bits = Pte.Accessed | (write ? Pte.Dirty : 0);
        if (table.IsHugeMapped)
        {
            Volatile.Write(ref table.Pmd, table.Pmd | bits);
        }
        else
        {
            Volatile.Write(ref table.Slots[i], table.Slots[i] | bits);
        }
    }
}
