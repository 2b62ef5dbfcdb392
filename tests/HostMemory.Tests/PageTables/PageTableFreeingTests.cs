using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.PageTables;

/// <summary>Page-table pages are allocated on fault and freed when an unmap empties them (<c>free_pgtables</c>).</summary>
public sealed class PageTableFreeingTests
{
    private const ulong TablePages = PteTable.Entries;

    [Test]
    public void Munmap_of_a_fully_populated_region_frees_all_its_pte_tables()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(3 * TablePages);
        mm.Populate(at, 3 * TablePages);
        Assert.That(mm.PageTable.PteTableCount, Is.EqualTo(3), "three 2 MiB tables cover 1536 pages");

        Assert.That(mm.Munmap(at, 3 * TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(mm.PageTable.PteTableCount, Is.Zero, "every emptied table is freed");
            Assert.That(mm.PageTable.Find(at.PageNumber), Is.Null, "the walk finds no table any more");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "and every frame is free");
        });
    }

    [Test]
    public void A_table_still_holding_entries_outside_the_unmapped_range_is_kept()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(2 * TablePages);
        mm.Populate(at, 2 * TablePages);

        Assert.That(mm.Munmap(at.AddPages(TablePages / 2), TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok),
            "unmap the second half of the first table and the first half of the second");

        Assert.Multiple(() =>
        {
            Assert.That(mm.PageTable.PteTableCount, Is.EqualTo(2), "both tables still hold live entries");
            Assert.That(mm.ReadWord(at), Is.EqualTo(0x1000UL), "the first page is untouched");
            Assert.That(mm.ReadWord(at.AddPages((2 * TablePages) - 1)), Is.EqualTo(0x1000UL + (2 * TablePages) - 1), "so is the last");
            Assert.That(mm.Vmas, Has.Count.EqualTo(2), "the VMA was split around the hole");
        });

        Assert.That(mm.Munmap(at, 2 * TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "unmap the rest");
        Assert.That(mm.PageTable.PteTableCount, Is.Zero, "now both tables are freed");
    }

    [Test]
    public void Madvise_dontneed_empties_entries_but_keeps_the_tables()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(TablePages);
        mm.Populate(at, TablePages);

        Assert.That(mm.MadviseDontNeed(at, TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(mm.PageTable.PteTableCount, Is.EqualTo(1), "madvise runs under the read lock and frees no table (walkers may be inside)");
            Assert.That(mm.PageTable.Find(at.PageNumber)!.Used, Is.Zero, "but the table holds no entries");
        });
    }
}
