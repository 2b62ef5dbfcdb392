using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.AddressSpaces;

/// <summary><c>get_user_pages</c> for the secondary MMU's fault path: one reference, the right frame, result values.</summary>
public sealed class GetUserPagesTests
{
    [Test]
    public void Get_user_pages_takes_exactly_one_reference_that_put_drops()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        mm.Populate(at, 4);
        var pfn = mm.PfnAt(at);
        var before = host.Memory.RefCount(pfn);

        var gup = mm.GetUserPages(at, write: true);
        var during = host.Memory.RefCount(gup.Pfn);
        host.Memory.Put(gup.Pfn);

        Assert.Multiple(() =>
        {
            Assert.That(gup, Is.EqualTo(new GupResult(HostStatus.Ok, pfn, Writable: true)), "the present writable frame is returned");
            Assert.That(during, Is.EqualTo(before + 1), "exactly one reference is taken");
            Assert.That(host.Memory.RefCount(pfn), Is.EqualTo(before), "Put restores the count");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void A_read_of_an_untouched_private_page_maps_the_zero_page_read_only()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);

        var gup = mm.GetUserPages(at.AddPages(2), write: false);
        host.Memory.Put(gup.Pfn);

        Assert.Multiple(() =>
        {
            Assert.That(gup.Status, Is.EqualTo(HostStatus.Ok), "the read succeeds");
            Assert.That(gup.Pfn, Is.EqualTo(Pfn.Zero), "an untouched private anonymous page is the shared zero page");
            Assert.That(gup.Writable, Is.False, "the zero page is mapped read-only, so the secondary must not map it writable");
            Assert.That(host.Read(HostCounter.ZeroPageMaps), Is.EqualTo(1), "one zero-page map");
            Assert.That(host.Memory.RefCount(Pfn.Zero), Is.EqualTo(1), "the zero page is back to its permanent reference");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1 - mm.PageTable.PteTableCount),
                "no frame was allocated but the page-table page");
        });
    }

    [Test]
    public void A_write_after_fork_breaks_cow_and_returns_a_different_writable_frame()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        mm.Populate(at, 4, value: 40);
        var shared = mm.PfnAt(at);
        var child = mm.Fork("child");

        var read = mm.GetUserPages(at, write: false);
        host.Memory.Put(read.Pfn);
        var write = mm.GetUserPages(at, write: true);
        host.Memory.Put(write.Pfn);

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(new GupResult(HostStatus.Ok, shared, Writable: false)), "a read returns the shared frame, read-only");
            Assert.That(write.Status, Is.EqualTo(HostStatus.Ok), "the write succeeds");
            Assert.That(write.Pfn, Is.Not.EqualTo(shared), "a write breaks COW: a new frame");
            Assert.That(write.Writable, Is.True, "the new frame is mapped writable");
            Assert.That(mm.PfnAt(at), Is.EqualTo(write.Pfn), "the parent's PTE maps the new frame");
            Assert.That(child.PfnAt(at), Is.EqualTo(shared), "the child keeps the old one");
            Assert.That(host.Memory.Read(write.Pfn, new AccessSite("test", -1, 0)), Is.EqualTo(40UL), "the copy has the old content");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Unmapped_addresses_read_only_vmas_and_dead_spaces_are_result_values()
    {
        var (_, mm) = TestHosts.WithSpace();
        var ro = mm.MapAnon(4, Protection.Read);
        var none = mm.MapAnon(4, Protection.None);
        var hole = ro.AddPages(1UL << 20);

        Assert.Multiple(() =>
        {
            Assert.That(mm.GetUserPages(hole, write: false).Status, Is.EqualTo(HostStatus.NoVma), "no VMA covers the address");
            Assert.That(mm.GetUserPages(ro, write: true).Status, Is.EqualTo(HostStatus.AccessDenied), "a write to a read-only VMA is denied");
            Assert.That(mm.GetUserPages(none, write: false).Status, Is.EqualTo(HostStatus.AccessDenied), "a read of a PROT_NONE VMA is denied");
            Assert.That(mm.HostWrite(ro, 1), Is.EqualTo(HostStatus.AccessDenied), "the VMM's own write is denied the same way");
            Assert.That(mm.HostRead(hole, out _), Is.EqualTo(HostStatus.NoVma), "and its read of a hole");
        });

        mm.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(mm.GetUserPages(ro, write: false).Status, Is.EqualTo(HostStatus.Dead), "after exit GUP reports Dead");
            Assert.That(mm.HostWrite(ro, 1), Is.EqualTo(HostStatus.Dead), "and so do host accesses");
            Assert.That(mm.Munmap(ro, Hva.PageSize), Is.EqualTo(HostStatus.Dead), "and munmap");
        });
    }
}
