using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Reclaim of anonymous memory: swap-out, swap-in, and the notifier order around each swapped PTE.</summary>
public sealed class SwapOutTests : ReclaimFixture
{
    [Test]
    public void Content_survives_swap_out_and_swap_in()
    {
        var host = NewHost(frames: 256, swapSlots: 256);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 64, i => 0x1000UL + (ulong)i);
        var freeBefore = host.Memory.FreeFrames;

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.SwappedOut, Is.EqualTo(64), "every page was cold on the second sweep and went to swap");
            Assert.That(result.FramesFreed, Is.EqualTo(64), "each swapped page's frame was freed");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(freeBefore + 64), "the frames are back on the free list");
            Assert.That(Pte.IsSwap(mm.PteOf(start)), Is.True, "the PTE is a swap entry now");
            Assert.That(host.Read(HostCounter.SwapOuts), Is.EqualTo(64), "SwapOuts counts each swapped PTE");
        });

        for (var i = 0; i < 64; i++)
        {
            Assert.That(ReadWord(mm, start.AddPages((ulong)i)), Is.EqualTo(0x1000UL + (ulong)i), $"page {i} comes back from swap");
        }

        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.SwapIns), Is.EqualTo(64), "each page was swapped in once");
            Assert.That(host.Swap.UsedSlots, Is.Zero, "swap-in released every slot");
        });
        mm.Exit();
        Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "exit returned every frame");
    }

    [Test]
    public void Modern_swap_out_starts_before_the_pte_change_and_frees_the_frame_after_the_end()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, pfn) = WatchedPage(host, NotifierProfile.Modern, 42);

        manager.ReclaimPass(int.MaxValue);

        var calls = probe.InvalidationsOf(hva);
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { ProbeKind.RangeStart, ProbeKind.RangeEnd }),
            "Modern: one range start and one end, no InvalidatePage: " + probe.Dump());
        var (start, end) = (calls[0], calls[1]);
        Assert.Multiple(() =>
        {
            Assert.That(start.Event, Is.EqualTo(NotifierEvent.Clear), "swap-out clears the PTE");
            Assert.That(start.Cause, Is.EqualTo(InvalidationCause.Reclaim), "the cause is reclaim");
            Assert.That(start.End.Value - start.Start.Value, Is.EqualTo(Hva.PageSize), "the range is the one page");
            Assert.That(Pte.IsPresent(start.WatchedPte) && Pte.PfnOf(start.WatchedPte) == pfn, Is.True,
                "at start the page is still mapped");
            Assert.That(start.WatchedFrameFree, Is.False, "at start the frame is not free");
            Assert.That(Pte.IsSwap(end.WatchedPte), Is.True, "at end the PTE is already the swap entry");
            Assert.That(end.WatchedFrameFree, Is.False, "at end the frame is not freed yet");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "after the end the frame was freed");
        });
        Assert.That(ReadWord(mm, hva), Is.EqualTo(42UL), "the content comes back");
    }

    [Test]
    public void Legacy_swap_out_invalidates_the_page_after_the_pte_change_and_before_the_free()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, pfn) = WatchedPage(host, NotifierProfile.Legacy2008, 42);

        manager.ReclaimPass(int.MaxValue);

        var calls = probe.InvalidationsOf(hva);
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { ProbeKind.InvalidatePage }),
            "Legacy: exactly one InvalidatePage, no range: " + probe.Dump());
        Assert.Multiple(() =>
        {
            Assert.That(calls[0].Cause, Is.EqualTo(InvalidationCause.Reclaim), "the cause is reclaim");
            Assert.That(Pte.IsPresent(calls[0].WatchedPte), Is.False, "InvalidatePage comes after the PTE change");
            Assert.That(calls[0].WatchedFrameFree, Is.False, "InvalidatePage comes before the frame is freed");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "the frame was freed afterwards");
        });
        Assert.That(ReadWord(mm, hva), Is.EqualTo(42UL), "the content comes back");
    }

    [Test]
    public void The_invalidate_after_free_mutation_is_caught_by_the_probe()
    {
        var host = NewHost(frames: 64, swapSlots: 64, HostMutations.LegacyInvalidateAfterFree);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, _) = WatchedPage(host, NotifierProfile.Legacy2008, 42);

        manager.ReclaimPass(int.MaxValue);

        var calls = probe.InvalidationsOf(hva);
        Assert.That(calls, Has.Count.EqualTo(1), "one InvalidatePage: " + probe.Dump());
        Assert.That(calls[0].WatchedFrameFree, Is.True,
            "the broken variant frees the frame before telling the secondary, and the probe sees it");
    }

    [Test]
    public void A_page_shared_by_fork_is_swapped_once_per_mapping_and_freed_with_its_last_mapping()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var parent = host.CreateAddressSpace("parent");
        var hva = MapAndFill(parent, 1, _ => 7);
        var child = parent.Fork("child");
        var pfn = Pte.PfnOf(parent.PteOf(hva));

        var result = manager.ReclaimPass(int.MaxValue);

        var parentPte = parent.PteOf(hva);
        var childPte = child.PteOf(hva);
        Assert.Multiple(() =>
        {
            Assert.That(result.SwappedOut, Is.EqualTo(2), "each mapping became a swap entry");
            Assert.That(result.FramesFreed, Is.EqualTo(1), "the frame was freed once, with its last mapping");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "the shared frame is free");
            Assert.That(Pte.IsSwap(parentPte) && Pte.IsSwap(childPte), Is.True, "both PTEs are swap entries");
            Assert.That(Pte.SwapSlotOf(childPte), Is.EqualTo(Pte.SwapSlotOf(parentPte)), "stored once, the slot is shared");
            Assert.That(host.Swap.UseCount(Pte.SwapSlotOf(parentPte)), Is.EqualTo(2), "one use per swap PTE");
        });

        Assert.That(child.HostWrite(hva, 8), Is.EqualTo(HostStatus.Ok), "the child writes after swap-in");
        Assert.Multiple(() =>
        {
            Assert.That(ReadWord(parent, hva), Is.EqualTo(7UL), "the parent still sees the value at fork time");
            Assert.That(ReadWord(child, hva), Is.EqualTo(8UL), "the child sees its own write");
        });
        child.Exit();
        parent.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(host.Swap.UsedSlots, Is.Zero, "every slot was released");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame was returned");
        });
    }

    [Test]
    public void A_referenced_page_is_unmapped_but_stays_in_the_swap_cache_until_its_reference_is_dropped()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var hva = MapAndFill(mm, 1, _ => 5);
        var gup = mm.GetUserPages(hva, write: true);
        Assert.That(gup.Status, Is.EqualTo(HostStatus.Ok), "get_user_pages takes a reference");

        var held = manager.ReclaimPass(int.MaxValue);
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsSwap(mm.PteOf(hva)) && held.SwappedOut == 1, Is.True,
                "try_to_unmap does not look at plain references: the mapping became a swap entry");
            Assert.That(held.FramesFreed, Is.Zero, "but __remove_mapping's reference freeze failed: the frame was not freed");
            Assert.That(host.Memory.IsFree(gup.Pfn), Is.False, "the referenced frame is alive");
            Assert.That((host.Memory.Flags(gup.Pfn) & FrameFlags.SwapCache) != 0, Is.True, "and still in the swap cache");
        });

        host.Memory.Put(gup.Pfn);
        var dropped = manager.ReclaimPass(int.MaxValue);
        Assert.Multiple(() =>
        {
            Assert.That(dropped.FramesFreed, Is.EqualTo(1), "without the reference the next pass frees it from the swap cache");
            Assert.That(ReadWord(mm, hva), Is.EqualTo(5UL), "and it reads back from swap");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void The_zero_page_is_never_reclaimed()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var hva = mm.Mmap(16 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        for (var i = 0UL; i < 16; i++)
        {
            ReadWord(mm, hva.AddPages(i));
        }

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.Scanned, Is.Zero, "zero-page mappings are not even aged");
            Assert.That(Pte.PfnOf(mm.PteOf(hva)).IsZeroPage && Pte.IsPresent(mm.PteOf(hva)), Is.True, "the zero page stays mapped");
        });
    }

    [Test]
    public void When_swap_is_full_the_remaining_pages_stay_mapped_with_their_content()
    {
        var host = NewHost(frames: 64, swapSlots: 4);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 10, i => 100UL + (ulong)i);

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.SwappedOut, Is.EqualTo(4), "only as many pages as there are slots");
            Assert.That(host.Swap.UsedSlots, Is.EqualTo(4), "every slot is in use");
        });
        for (var i = 0; i < 10; i++)
        {
            Assert.That(ReadWord(mm, start.AddPages((ulong)i)), Is.EqualTo(100UL + (ulong)i), $"page {i} keeps its content");
        }
    }

    [Test]
    public void Without_swap_anonymous_pages_are_not_reclaimed()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 8, i => (ulong)i);

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.SwappedOut, Is.Zero, "swap is disabled");
            Assert.That(result.Scanned, Is.Zero, "without swap the anonymous LRU is not scanned at all (get_scan_count)");
            Assert.That(Pte.IsPresent(mm.PteOf(start)), Is.True, "the page stays mapped");
        });
    }
}
