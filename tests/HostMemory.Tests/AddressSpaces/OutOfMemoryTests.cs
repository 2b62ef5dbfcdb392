using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.AddressSpaces;

/// <summary>Running out of frames is a result value for the caller, not a crash.</summary>
public sealed class OutOfMemoryTests
{
    private const int Frames = 16;

    [Test]
    public void Write_faults_on_a_tiny_host_end_in_out_of_memory_results()
    {
        var host = TestHosts.Host(ramBytes: Frames * (long)Hva.PageSize);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(64);

        var written = 0;
        var status = HostStatus.Ok;
        for (ulong p = 0; p < 64 && status == HostStatus.Ok; p++)
        {
            status = mm.HostWrite(at.AddPages(p), p);
            written += status == HostStatus.Ok ? 1 : 0;
        }

        var gupWrite = mm.GetUserPages(at.AddPages(63), write: true);
        var gupRead = mm.GetUserPages(at.AddPages(62), write: false);
        host.Memory.Put(gupRead.Pfn);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HostStatus.OutOfMemory), "the first write that finds no frame reports OutOfMemory");
            Assert.That(written, Is.EqualTo(Frames - 2), "every frame but the zero page and the page-table page was handed out first");
            Assert.That(host.Memory.FreeFrames, Is.Zero, "memory is exhausted");
            Assert.That(gupWrite.Status, Is.EqualTo(HostStatus.OutOfMemory), "get_user_pages(write) reports OutOfMemory too");
            Assert.That(gupRead.Status, Is.EqualTo(HostStatus.Ok), "a read still maps the zero page, which needs no frame");
            Assert.That(host.Read(HostCounter.OutOfMemory), Is.EqualTo(2), "both failures are counted");
            Assert.That(mm.ReadWord(at.AddPages(3)), Is.EqualTo(3UL), "pages written before keep their content");
            Assert.That(host.Violations.Total, Is.Zero, "running out of memory is not a violation");
        });

        Assert.That(mm.Munmap(at, Hva.PageSize), Is.EqualTo(HostStatus.Ok), "freeing one page");
        Assert.That(mm.HostWrite(at.AddPages(63), 63), Is.EqualTo(HostStatus.Ok), "the next write fits again");
    }

    [Test]
    public void A_cow_fault_without_a_free_frame_reports_out_of_memory_and_leaves_both_sides_intact()
    {
        var host = TestHosts.Host(ramBytes: Frames * (long)Hva.PageSize);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(Frames);
        // Frames - 3 pages: the zero page, the parent's page-table page and the child's are frames too.
        mm.Populate(at, Frames - 3, value: 7);
        var child = mm.Fork("child");

        var status = mm.HostWrite(at, 1);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HostStatus.OutOfMemory), "no frame for the copy");
            Assert.That(mm.ReadWord(at), Is.EqualTo(7UL), "the parent still reads the shared value");
            Assert.That(child.ReadWord(at), Is.EqualTo(7UL), "so does the child");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });

        child.Exit();
        mm.Exit();
        Assert.That(host.Memory.FreeFrames, Is.EqualTo(Frames - 1), "every frame is returned");
    }
}
