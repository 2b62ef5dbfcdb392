using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>The OOM reaper: non-blockable invalidation, deferral on refusal, and what the victim sees afterwards.</summary>
public sealed class OomReaperTests : ReclaimFixture
{
    [Test]
    public void A_notifier_refusing_nonblocking_starts_makes_the_reaper_skip_and_retry_until_it_accepts()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var victim = host.CreateAddressSpace("victim");
        var probe = new ProbeNotifier(host) { RefuseNonBlockable = true };
        victim.RegisterNotifier(probe);
        var hva = MapAndFill(victim, 8, i => (ulong)i + 1);
        var freeBefore = host.Memory.FreeFrames;

        var refused = manager.OomReapOnce();

        Assert.Multiple(() =>
        {
            Assert.That(refused.Victim, Is.EqualTo("victim"), "the only space is the victim");
            Assert.That(refused.RangesReaped, Is.Zero, "the refused range was not reaped");
            Assert.That(refused.RangesDeferred, Is.EqualTo(1), "it was kept for a retry");
            Assert.That(manager.OomReaper.DeferredRanges, Is.EqualTo(1), "the reaper remembers it");
            Assert.That(Pte.IsPresent(victim.PteOf(hva)), Is.True, "no PTE was changed after the refusal");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(freeBefore), "nothing was freed");
            Assert.That(probe.Calls.Any(c => c.Kind == ProbeKind.RangeEnd), Is.False, "no end follows a refused start");
            Assert.That(probe.Calls.Single(c => c.Kind == ProbeKind.RangeStart).Blockable, Is.False, "the start was non-blockable");
            Assert.That(victim.Notifiers.OpenSections, Is.Zero, "no section is left open");
            Assert.That(host.Read(HostCounter.OomReaps), Is.Zero, "the reap is not complete");
        });

        probe.RefuseNonBlockable = false;
        var accepted = manager.OomReapOnce();

        Assert.Multiple(() =>
        {
            Assert.That(accepted.Victim, Is.EqualTo("victim"), "the retry works on the same victim");
            Assert.That(accepted.RangesReaped, Is.EqualTo(1), "the range is reaped now");
            Assert.That(accepted.Completed, Is.True, "nothing is left to retry");
            Assert.That(accepted.FramesFreed, Is.EqualTo(8), "the victim's eight pages were freed");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(freeBefore + 8), "they are back on the free list");
            Assert.That(victim.PteOf(hva), Is.Zero, "the PTEs are gone");
            Assert.That(host.Read(HostCounter.OomReaps), Is.EqualTo(1), "OomReaps counts the completed reap");
            Assert.That(victim.IsOomReaped, Is.True, "the victim is marked");
            Assert.That(victim.HostRead(hva, out _), Is.EqualTo(HostStatus.Dead), "its later faults fail cleanly instead of reading zeroes");
            Assert.That(victim.GetUserPages(hva, write: false).Status, Is.EqualTo(HostStatus.Dead), "get_user_pages fails too");
        });
        victim.Exit();
    }

    [Test]
    public void The_largest_unprotected_space_is_the_victim_and_shared_mappings_are_left_alone()
    {
        var host = NewHost(frames: 128);
        using var manager = new HostMemoryManager(host);
        var small = host.CreateAddressSpace("small");
        var large = host.CreateAddressSpace("large");
        var protectedSpace = host.CreateAddressSpace("protected");
        MapAndFill(small, 4, i => (ulong)i);
        var largeHva = MapAndFill(large, 16, i => (ulong)i);
        MapAndFill(protectedSpace, 32, i => (ulong)i);
        var shared = large.Mmap(Hva.PageSize, VmaKind.AnonymousShared, Protection.ReadWrite);
        large.HostWrite(shared, 0x5A);
        manager.ProtectFromOom(protectedSpace);

        var result = manager.OomReapOnce();

        Assert.Multiple(() =>
        {
            Assert.That(result.Victim, Is.EqualTo("large"), "the biggest space that is not protected");
            Assert.That(large.PteOf(largeHva), Is.Zero, "its private memory is gone");
            Assert.That(Pte.IsPresent(large.PteOf(shared)), Is.True, "its shared memory is not the reaper's to take");
            Assert.That(result.FramesFreed, Is.EqualTo(16), "sixteen private pages freed");
        });
    }

    [Test]
    public void Direct_reclaim_falls_back_to_the_reaper_when_nothing_can_be_evicted()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var hog = host.CreateAddressSpace("hog");
        var vmm = host.CreateAddressSpace("vmm");
        manager.ProtectFromOom(vmm);
        MapAndFill(hog, 60, i => (ulong)i);
        var hva = vmm.Mmap(8 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);

        for (var i = 0UL; i < 8; i++)
        {
            Assert.That(vmm.HostWrite(hva.AddPages(i), i), Is.EqualTo(HostStatus.Ok), $"write {i} finds a frame once the hog is reaped");
        }

        Assert.Multiple(() =>
        {
            Assert.That(hog.IsOomReaped, Is.True, "the hog was reaped");
            Assert.That(vmm.IsOomReaped, Is.False, "the protected space was not");
            Assert.That(host.Read(HostCounter.OomReaps), Is.EqualTo(1), "one reap");
            Assert.That(host.Read(HostCounter.OutOfMemory), Is.Zero, "no allocation failed");
        });
    }
}
