using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>What one khugepaged pass did.</summary>
/// <param name="Candidates">2 MiB regions found mapped by small pages in THP-enabled VMAs.</param>
/// <param name="Collapsed">Regions collapsed into a huge page.</param>
/// <param name="Failed">Regions whose collapse was given up (no free block, an extra reference, a race).</param>
public readonly record struct CollapseResult(int Candidates, int Collapsed, int Failed);

/// <summary>
/// khugepaged (<c>khugepaged_scan_mm_slot</c> → <c>hpage_collapse_scan_pmd</c> → <c>collapse_huge_page</c>): visits
/// the address spaces with transparent huge pages on, a cursor per space, and collapses up to a number of 2 MiB regions
/// per pass. The scan holds the mmap lock for read only while it looks; each collapse takes it for write.
/// </summary>
public sealed class Khugepaged(HostSystem host)
{
    private readonly Dictionary<AddressSpace, ulong> _cursors = [];

    /// <summary>One pass: at most <paramref name="maxCollapses"/> collapses over all spaces.</summary>
    public CollapseResult CollapsePass(int maxCollapses)
    {
        int candidates = 0, collapsed = 0, failed = 0;
        foreach (var mm in host.LiveAddressSpaces())
        {
            if (mm.Thp == ThpMode.Never || collapsed + failed >= maxCollapses)
            {
                continue;
            }

            foreach (var head in Candidates(mm, maxCollapses - collapsed - failed))
            {
                candidates++;
                if (mm.TryCollapseHugePage(head))
                {
                    collapsed++;
                }
                else
                {
                    failed++;
                }
            }
        }

        return new CollapseResult(candidates, collapsed, failed);
    }

    /// <summary>Up to <paramref name="max"/> aligned regions after the space's cursor that small PTEs map, wrapping once.</summary>
    private List<Hva> Candidates(AddressSpace mm, int max)
    {
        var found = new List<Hva>();
        if (!mm.TryEnterScan(out var scope))
        {
            return found;
        }

        using (scope)
        {
            if (mm.IsDead)
            {
                return found;
            }

            lock (_cursors)
            {
                _cursors.TryGetValue(mm, out var cursor);
                var regions = new List<Hva>();
                foreach (var vma in mm.VmasLocked)
                {
                    var first = (vma.Start.Value + AddressSpace.HugePageSize - 1) & ~(AddressSpace.HugePageSize - 1);
                    for (var head = first; head + AddressSpace.HugePageSize <= vma.End.Value; head += AddressSpace.HugePageSize)
                    {
                        var table = mm.PageTable.Find(new Hva(head).PageNumber);
                        if (table is { Pmd: 0 } && Volatile.Read(ref table.Used) > 0)
                        {
                            regions.Add(new Hva(head));
                        }
                    }
                }

                foreach (var region in regions.Where(r => r.Value > cursor).Concat(regions.Where(r => r.Value <= cursor)).Take(max))
                {
                    found.Add(region);
                    cursor = region.Value;
                }

                _cursors[mm] = cursor;
            }
        }

        return found;
    }
}
