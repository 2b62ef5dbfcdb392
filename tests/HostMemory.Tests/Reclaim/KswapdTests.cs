using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>kswapd: woken by allocations below the low watermark, reclaims up to the high one, stops cleanly.</summary>
public sealed class KswapdTests : ReclaimFixture
{
    [Test]
    [CancelAfter(30_000)]
    public void An_allocation_below_the_low_watermark_wakes_kswapd_which_reclaims_up_to_the_high_one(CancellationToken cancellation)
    {
        var host = NewHost(frames: 256, swapSlots: 512);
        using var manager = new HostMemoryManager(host, new ReclaimOptions
        {
            LowWatermarkFrames = 32,
            HighWatermarkFrames = 64,
            KswapdBatch = 16,
            InstallDirectReclaim = false,           // only kswapd may free anything here
            KswapdPollInterval = TimeSpan.FromHours(1), // so only the allocation hook can wake it
        });
        manager.StartKswapd();
        var mm = host.CreateAddressSpace("vmm");
        var start = mm.Mmap(256 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        var written = 0;
        while (host.Memory.FreeFrames >= 32)
        {
            Assert.That(mm.HostWrite(start.AddPages((ulong)written), (ulong)written + 1), Is.EqualTo(HostStatus.Ok), $"write {written}");
            written++;
        }

        // Named wait: kswapd runs on its own thread; the test waits for its effect, not for a time.
        while (host.Memory.FreeFrames < 64)
        {
            cancellation.ThrowIfCancellationRequested();
            Thread.Sleep(1);
        }

        manager.StopKswapd();
        Assert.Multiple(() =>
        {
            Assert.That(manager.Kswapd.IsRunning, Is.False, "Stop joined the thread");
            Assert.That(manager.Kswapd.Passes, Is.GreaterThan(0), "kswapd ran passes");
            Assert.That(manager.Kswapd.FramesFreed, Is.GreaterThanOrEqualTo(64 - 32), "it freed at least the gap between the watermarks");
            Assert.That(host.Memory.LowMemory is null, Is.True, "stopping unhooked it from the allocator");
        });
        for (var i = 0; i < written; i++)
        {
            Assert.That(ReadWord(mm, start.AddPages((ulong)i)), Is.EqualTo((ulong)i + 1), $"page {i} reads back");
        }
    }

    [Test]
    public void Start_and_stop_can_be_repeated()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);

        manager.StartKswapd();
        manager.StartKswapd();
        Assert.That(manager.Kswapd.IsRunning, Is.True, "started (a second start is a no-op)");
        manager.StopKswapd();
        manager.StopKswapd();
        Assert.That(manager.Kswapd.IsRunning, Is.False, "stopped (a second stop is a no-op)");
        manager.StartKswapd();
        Assert.That(manager.Kswapd.IsRunning, Is.True, "and started again");
    }
}
