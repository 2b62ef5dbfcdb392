using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>KSM: identical private pages share one read-only frame; a write un-merges by copy-on-write.</summary>
public sealed class KsmTests : ReclaimFixture
{
    [Test]
    public void Identical_pages_end_up_mapping_one_read_only_ksm_frame()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        manager.Ksm.Register(mm);
        var start = MapAndFill(mm, 3, i => i == 2 ? 9UL : 7UL);
        var freeBefore = host.Memory.FreeFrames;

        var result = manager.KsmPass();

        var p0 = mm.PteOf(start);
        var p1 = mm.PteOf(start.AddPages(1));
        var p2 = mm.PteOf(start.AddPages(2));
        Assert.Multiple(() =>
        {
            Assert.That(Pte.PfnOf(p0), Is.EqualTo(Pte.PfnOf(p1)), "the two pages holding 7 map the same frame");
            Assert.That(Pte.PfnOf(p2), Is.Not.EqualTo(Pte.PfnOf(p0)), "the page holding 9 keeps its own");
            Assert.That(Pte.IsWritable(p0) || Pte.IsWritable(p1), Is.False, "the shared frame is mapped read-only");
            Assert.That(host.Memory.Flags(Pte.PfnOf(p0)) & FrameFlags.Ksm, Is.EqualTo(FrameFlags.Ksm), "it is a KSM frame");
            Assert.That(result.Merged, Is.EqualTo(1), "one page merged into the other");
            Assert.That(host.Read(HostCounter.KsmMerges), Is.EqualTo(1), "KsmMerges counts it");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(freeBefore + 1), "the duplicate's frame was freed");
        });
        Assert.That(ReadWord(mm, start.AddPages(1)), Is.EqualTo(7UL), "the merged page still reads its content");
    }

    [Test]
    public void A_write_to_a_merged_page_unmerges_it_and_the_other_keeps_its_content()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        manager.Ksm.Register(mm);
        var start = MapAndFill(mm, 2, _ => 7);
        manager.KsmPass();
        var ksmFrame = Pte.PfnOf(mm.PteOf(start));

        Assert.That(mm.HostWrite(start.AddPages(1), 8), Is.EqualTo(HostStatus.Ok), "the write succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(Pte.PfnOf(mm.PteOf(start.AddPages(1))), Is.Not.EqualTo(ksmFrame), "the writer got its own copy");
            Assert.That(ReadWord(mm, start.AddPages(1)), Is.EqualTo(8UL), "the writer sees its write");
            Assert.That(ReadWord(mm, start), Is.EqualTo(7UL), "the other page keeps the shared content");
            Assert.That(host.Read(HostCounter.KsmUnmerges), Is.EqualTo(1), "KsmUnmerges counts the copy-on-write of a KSM page");
        });
    }

    [Test]
    public void Identical_pages_of_two_guests_are_merged_across_address_spaces()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var a = host.CreateAddressSpace("guest-a");
        var b = host.CreateAddressSpace("guest-b");
        manager.Ksm.Register(a);
        manager.Ksm.Register(b);
        var hvaA = MapAndFill(a, 4, i => 100UL + (ulong)i);
        var hvaB = MapAndFill(b, 4, i => 100UL + (ulong)i);

        var result = manager.KsmPass();

        Assert.That(result.Merged, Is.EqualTo(4), "each of b's pages merged with a's twin");
        for (var i = 0UL; i < 4; i++)
        {
            Assert.That(Pte.PfnOf(b.PteOf(hvaB.AddPages(i))), Is.EqualTo(Pte.PfnOf(a.PteOf(hvaA.AddPages(i)))), $"page {i} is shared");
        }

        Assert.That(b.HostWrite(hvaB, 1), Is.EqualTo(HostStatus.Ok), "b writes its first page");
        Assert.That(ReadWord(a, hvaA), Is.EqualTo(100UL), "a never sees b's write");
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void A_merge_write_protects_then_replaces_and_frees_the_duplicate_last(NotifierProfile profile)
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm", profile);
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        manager.Ksm.Register(mm);
        var start = MapAndFill(mm, 2, _ => 7);
        var duplicateHva = start.AddPages(1);
        var duplicate = Pte.PfnOf(mm.PteOf(duplicateHva));
        probe.Watch = (mm, duplicateHva, duplicate);

        manager.KsmPass();

        var calls = probe.InvalidationsOf(duplicateHva);
        Assert.That(calls.All(c => c.Cause == InvalidationCause.KsmMerge), Is.True, "every invalidation is for KSM: " + probe.Dump());
        Assert.That(calls.All(c => !c.WatchedFrameFree), Is.True, "the duplicate is freed only after every callback returned");
        if (profile == NotifierProfile.Modern)
        {
            Assert.That(calls.Select(c => (c.Kind, c.Event)), Is.EqualTo(new[]
            {
                (ProbeKind.RangeStart, (NotifierEvent?)NotifierEvent.ProtectionPage),
                (ProbeKind.RangeEnd, (NotifierEvent?)NotifierEvent.ProtectionPage),
                (ProbeKind.RangeStart, (NotifierEvent?)NotifierEvent.Clear),
                (ProbeKind.RangeEnd, (NotifierEvent?)NotifierEvent.Clear),
            }), "write_protect_page, then replace_page");
            Assert.That(Pte.IsWritable(calls[0].WatchedPte), Is.True, "at the first start the page is still writable");
            Assert.That(Pte.PfnOf(calls[2].WatchedPte), Is.EqualTo(duplicate), "at the second start the duplicate is still mapped");
        }
        else
        {
            Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { ProbeKind.InvalidatePage, ProbeKind.InvalidatePage }),
                "one InvalidatePage after each of the two PTE changes");
            Assert.That(Pte.IsWritable(calls[0].WatchedPte), Is.False, "the first comes after the write-protect");
            Assert.That(Pte.PfnOf(calls[1].WatchedPte), Is.Not.EqualTo(duplicate), "the second after the switch to the KSM frame");
        }

        Assert.That(host.Memory.IsFree(duplicate), Is.True, "the duplicate was freed in the end");
    }

    [Test]
    public void Unregistered_address_spaces_are_not_scanned()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 2, _ => 7);

        var result = manager.KsmPass();

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(default(Ksm.KsmResult)), "nothing was registered, nothing scanned");
            Assert.That(Pte.IsWritable(mm.PteOf(start)), Is.True, "the pages were not touched");
        });
    }
}
