using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.AddressSpaces;

/// <summary>
/// Swap-in (<c>do_swap_page</c>). There is no swap-out yet, so the tests plant a swap PTE by hand, the way reclaim
/// will leave one: content in a slot, the PTE pointing to the slot.
/// </summary>
public sealed class SwapInTests
{
    [Test]
    public void Reading_a_swapped_out_page_brings_its_content_back_and_frees_the_slot()
    {
        var host = TestHosts.Host(swapBytes: 16 * (long)Hva.PageSize);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(4);
        var hva = at.AddPages(2);
        PlantSwapPte(host, mm, hva, 0x5AA9);

        var value = mm.ReadWord(hva);

        Assert.Multiple(() =>
        {
            Assert.That(value, Is.EqualTo(0x5AA9UL), "the content comes back from the slot");
            Assert.That(Pte.IsPresent(mm.PteOf(hva)), Is.True, "the page is present again");
            Assert.That(host.Swap.UsedSlots, Is.Zero, "the slot is released with its last user");
            Assert.That(host.Read(HostCounter.SwapIns), Is.EqualTo(1), "one swap-in");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void A_swap_pte_duplicated_by_fork_swaps_in_separately_on_each_side()
    {
        var host = TestHosts.Host(swapBytes: 16 * (long)Hva.PageSize);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(4);
        PlantSwapPte(host, mm, at, 0x77);
        var child = mm.Fork("child");
        Assert.That(host.Swap.UseCount(Pte.SwapSlotOf(mm.PteOf(at))), Is.EqualTo(2), "fork duplicates the swap entry");

        Assert.That(child.HostWrite(at, 0x88), Is.EqualTo(HostStatus.Ok), "the child swaps in and writes");

        Assert.Multiple(() =>
        {
            Assert.That(host.Swap.UsedSlots, Is.EqualTo(1), "the parent's entry still holds the slot");
            Assert.That(mm.ReadWord(at), Is.EqualTo(0x77UL), "the parent swaps in the original content");
            Assert.That(child.ReadWord(at), Is.EqualTo(0x88UL), "the child keeps its write");
            Assert.That(host.Swap.UsedSlots, Is.Zero, "both entries are gone");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Munmap_releases_the_swap_slot_of_a_swapped_out_page()
    {
        var host = TestHosts.Host(swapBytes: 16 * (long)Hva.PageSize);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(4);
        PlantSwapPte(host, mm, at.AddPages(1), 0x99);

        Assert.That(mm.Munmap(at, 4 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(host.Swap.UsedSlots, Is.Zero, "zap_pte_range frees the swap slot");
            Assert.That(mm.PageTable.PteTableCount, Is.Zero, "and the emptied page table");
        });
    }

    /// <summary>Stores <paramref name="content"/> in a new swap slot and points the PTE of <paramref name="hva"/> at it.</summary>
    private static void PlantSwapPte(HostSystem host, AddressSpace mm, Hva hva, ulong content)
    {
        Assert.That(host.Swap.TryStore(content, out var slot), Is.True, "the swap device has room");
        using var _ = mm.EnterRead();
        var table = mm.PageTable.GetOrCreate(hva.PageNumber);
        using (table.Ptl.Enter())
        {
            Assert.That(table.Slots[PageTable.PteIndex(hva.PageNumber)], Is.Zero, "the PTE was empty");
            table.Slots[PageTable.PteIndex(hva.PageNumber)] = Pte.MakeSwap(slot);
            table.Used++;
        }
    }
}
