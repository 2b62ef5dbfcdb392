using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Writeback (<c>page_mkclean</c> + writepage) and reclaim of dirty page-cache pages.</summary>
public sealed class WritebackTests : ReclaimFixture
{
    [Test]
    public void Dirty_shared_file_data_reaches_the_backing_store_and_the_next_write_faults_and_redirties()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var file = host.CreateFile("disk.img", pages: 16);
        var mm = host.CreateAddressSpace("vmm");
        var hva = mm.Mmap(16 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        Assert.That(mm.HostWrite(hva, 0xABC), Is.EqualTo(HostStatus.Ok), "the write faults the page in, dirty");
        var pfn = Pte.PfnOf(mm.PteOf(hva));

        var result = manager.WritebackPass();

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(new Writeback.WritebackResult(1, 1)), "one page written, one mapping cleaned");
            Assert.That(file.ReadBacking(0), Is.EqualTo(0xABCUL), "the backing store has the data");
            Assert.That(mm.PteOf(hva) & (Pte.Writable | Pte.Dirty), Is.Zero, "the PTE is write-protected and clean");
            Assert.That(host.Memory.Flags(pfn) & FrameFlags.Dirty, Is.EqualTo(FrameFlags.None), "the page is clean");
            Assert.That(host.Read(HostCounter.Writebacks), Is.EqualTo(1), "Writebacks counts it");
        });

        var reusesBefore = host.Read(HostCounter.WriteProtectReuses);
        Assert.That(mm.HostWrite(hva, 0xDEF), Is.EqualTo(HostStatus.Ok), "a later write succeeds");
        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.WriteProtectReuses), Is.EqualTo(reusesBefore + 1), "it faulted (do_wp_page, shared)");
            Assert.That(host.Memory.Flags(pfn) & FrameFlags.Dirty, Is.EqualTo(FrameFlags.Dirty), "and dirtied the page again");
        });
        manager.WritebackPass();
        Assert.That(file.ReadBacking(0), Is.EqualTo(0xDEFUL), "the second writeback stores the new data");
        Assert.That(manager.WritebackPass().PagesWritten, Is.Zero, "a clean page is not written again");
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void Writeback_takes_write_access_away_from_the_secondary_in_either_profile(NotifierProfile profile)
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var file = host.CreateFile("disk.img", pages: 4);
        var mm = host.CreateAddressSpace("vmm", profile);
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        var hva = mm.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        mm.HostWrite(hva, 1);
        probe.Watch = (mm, hva, Pte.PfnOf(mm.PteOf(hva)));

        manager.WritebackPass();

        var calls = probe.InvalidationsOf(hva);
        if (profile == NotifierProfile.Modern)
        {
            Assert.That(calls.Select(c => (c.Kind, c.Event, c.Cause)), Is.EqualTo(new[]
            {
                (ProbeKind.RangeStart, (NotifierEvent?)NotifierEvent.ProtectionPage, (InvalidationCause?)InvalidationCause.Writeback),
                (ProbeKind.RangeEnd, (NotifierEvent?)NotifierEvent.ProtectionPage, (InvalidationCause?)InvalidationCause.Writeback),
            }), "Modern: a ProtectionPage range around the write-protect: " + probe.Dump());
            Assert.That(Pte.IsWritable(calls[0].WatchedPte), Is.True, "at start the PTE is still writable");
        }
        else
        {
            Assert.That(calls.Select(c => (c.Kind, c.Cause)), Is.EqualTo(new[] { (ProbeKind.InvalidatePage, (InvalidationCause?)InvalidationCause.Writeback) }),
                "Legacy: InvalidatePage: " + probe.Dump());
            Assert.That(Pte.IsWritable(calls[0].WatchedPte), Is.False, "InvalidatePage comes after the write-protect");
        }
    }

    [Test]
    public void Dirty_file_data_survives_reclaim_and_is_read_back_from_the_file()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var file = host.CreateFile("disk.img", pages: 8);
        var mm = host.CreateAddressSpace("vmm");
        var hva = mm.Mmap(8 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        for (var i = 0UL; i < 8; i++)
        {
            Assert.That(mm.HostWrite(hva.AddPages(i), 0x5000 + i), Is.EqualTo(HostStatus.Ok), $"page {i} is written");
        }

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.FileUnmapped, Is.EqualTo(8), "every mapping was removed");
            Assert.That(result.WrittenBack, Is.EqualTo(8), "every dirty page was written before being dropped");
            Assert.That(result.FramesFreed, Is.EqualTo(8), "and every frame freed");
            Assert.That(file.CachedPage(0), Is.Null, "the page left the page cache");
            Assert.That(file.ReadBacking(3), Is.EqualTo(0x5003UL), "the file has the data");
            Assert.That(mm.PteOf(hva), Is.Zero, "the PTE is empty");
        });
        for (var i = 0UL; i < 8; i++)
        {
            Assert.That(ReadWord(mm, hva.AddPages(i)), Is.EqualTo(0x5000 + i), $"page {i} faults back in from the file");
        }
    }

    [Test]
    public void A_file_page_mapped_in_two_spaces_leaves_the_cache_only_with_its_last_mapping()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var file = host.CreateFile("disk.img", pages: 1);
        var a = host.CreateAddressSpace("a");
        var b = host.CreateAddressSpace("b");
        var hvaA = a.Mmap(Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var hvaB = b.Mmap(Hva.PageSize, VmaKind.FileShared, Protection.Read, file);
        a.HostWrite(hvaA, 9);
        Assert.That(ReadWord(b, hvaB), Is.EqualTo(9UL), "b sees a's write through the shared page");
        var pfn = file.CachedPage(0)!.Value;

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(result.FileUnmapped, Is.EqualTo(2), "both mappings were removed");
            Assert.That(result.FramesFreed, Is.EqualTo(1), "the page was freed once");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "its frame is free");
            Assert.That(file.ReadBacking(0), Is.EqualTo(9UL), "its data is in the file");
        });
        Assert.That(ReadWord(b, hvaB), Is.EqualTo(9UL), "b reads it back");
    }
}
