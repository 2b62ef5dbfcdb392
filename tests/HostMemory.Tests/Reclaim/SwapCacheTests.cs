using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>
/// The swap cache (P12, P13): after try_to_unmap's range end a refault is allowed; if it comes before reclaim freed the
/// page it finds the page in the swap cache and maps the same frame (a minor fault), and reclaim's reference freeze
/// then fails, so the page is not freed under the new mapping.
/// </summary>
public sealed class SwapCacheTests : ReclaimFixture
{
    [Test]
    [CancelAfter(30_000)]
    public void A_refault_between_pageout_and_the_free_maps_the_same_frame_and_keeps_it(CancellationToken token)
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var hva = MapAndFill(mm, 1, _ => 0x5CA7);
        var pfn = Pte.PfnOf(mm.PteOf(hva));
        Thread? refault = null;
        ulong seen = 0;
        manager.Reclaim.AfterPageout = page =>
        {
            // The page is unmapped (a swap entry), written to its slot, locked and still in the swap cache.
            refault = new Thread(() => mm.HostRead(hva, out seen)) { IsBackground = true, Name = "refault" };
            refault.Start();
            Thread.Sleep(50); // the refault takes its swap-cache reference, then waits for the page lock
        };

        var result = manager.ReclaimPass(int.MaxValue);
        Assert.That(refault, Is.Not.Null, "the page was paged out");
        Assert.That(refault!.Join(TimeSpan.FromSeconds(10)), Is.True, "the refault finishes once reclaim unlocks the page");

        Assert.Multiple(() =>
        {
            Assert.That(result.SwappedOut, Is.EqualTo(1), "the mapping became a swap entry");
            Assert.That(result.FramesFreed, Is.Zero, "__remove_mapping's freeze failed on the refault's reference");
            Assert.That(seen, Is.EqualTo(0x5CA7UL), "the refault reads the content");
            Assert.That(Pte.PfnOf(mm.PteOf(hva)), Is.EqualTo(pfn), "a minor fault: the same frame is mapped again");
            Assert.That(host.Read(HostCounter.SwapCacheHits), Is.EqualTo(1), "counted as a swap-cache hit");
            Assert.That(host.Memory.IsFree(pfn), Is.False, "the frame is alive");
            Assert.That((host.Memory.Flags(pfn) & FrameFlags.SwapCache) == 0 && host.Swap.UsedSlots == 0, Is.True,
                "no swap PTE is left, so the refault took the page out of the swap cache and released the slot");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
