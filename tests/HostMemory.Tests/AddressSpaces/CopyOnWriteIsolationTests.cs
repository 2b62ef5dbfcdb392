using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.AddressSpaces;

/// <summary>What fork shares and what it copies: memory behaves like memory on both sides.</summary>
public sealed class CopyOnWriteIsolationTests
{
    [Test]
    public void Parent_and_child_writes_after_fork_are_isolated_and_untouched_pages_keep_pre_fork_values()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        mm.Populate(at, 8, value: 100);
        var child = mm.Fork("child");

        Assert.That(mm.HostWrite(at, 1), Is.EqualTo(HostStatus.Ok), "parent writes page 0");
        Assert.That(child.HostWrite(at.AddPages(1), 2), Is.EqualTo(HostStatus.Ok), "child writes page 1");

        Assert.Multiple(() =>
        {
            Assert.That(mm.ReadWord(at), Is.EqualTo(1UL), "the parent sees its own write");
            Assert.That(child.ReadWord(at), Is.EqualTo(100UL), "the child does not see the parent's later write");
            Assert.That(child.ReadWord(at.AddPages(1)), Is.EqualTo(2UL), "the child sees its own write");
            Assert.That(mm.ReadWord(at.AddPages(1)), Is.EqualTo(101UL), "the parent does not see the child's write");
            Assert.That(mm.ReadWord(at.AddPages(5)), Is.EqualTo(105UL), "an untouched page keeps its pre-fork value in the parent");
            Assert.That(child.ReadWord(at.AddPages(5)), Is.EqualTo(105UL), "and in the child");
            Assert.That(child.PfnAt(at.AddPages(5)), Is.EqualTo(mm.PfnAt(at.AddPages(5))), "an untouched page is still one shared frame");
            Assert.That(host.Read(HostCounter.CowFaults), Is.EqualTo(2), "each side's first write copied once");
        });

        child.Exit();
        mm.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame is returned after both exit");
        });
    }

    [Test]
    public void After_the_child_exits_the_parent_reuses_its_page_instead_of_copying()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(2);
        mm.Populate(at, 2);
        var pfn = mm.PfnAt(at);
        mm.Fork("child").Exit();

        Assert.That(mm.HostWrite(at, 9), Is.EqualTo(HostStatus.Ok), "the write succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(mm.PfnAt(at), Is.EqualTo(pfn), "the only mapper of an anonymous page reuses it (wp_can_reuse_anon_folio)");
            Assert.That(host.Read(HostCounter.CowFaults), Is.Zero, "no copy was made");
        });
    }

    [Test]
    public void Shared_anonymous_memory_is_shared_between_parent_and_child()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.Mmap(4 * Hva.PageSize, VmaKind.AnonymousShared, Protection.ReadWrite);
        mm.Populate(at, 4, value: 10);
        var child = mm.Fork("child");

        Assert.That(mm.HostWrite(at, 77), Is.EqualTo(HostStatus.Ok), "the parent writes after fork");
        Assert.That(child.HostWrite(at.AddPages(1), 88), Is.EqualTo(HostStatus.Ok), "the child writes after fork");
        Assert.That(child.HostWrite(at.AddPages(2), 99), Is.EqualTo(HostStatus.Ok), "the child writes a page");

        Assert.Multiple(() =>
        {
            Assert.That(child.ReadWord(at), Is.EqualTo(77UL), "the child sees the parent's write");
            Assert.That(mm.ReadWord(at.AddPages(1)), Is.EqualTo(88UL), "the parent sees the child's write");
            Assert.That(mm.ReadWord(at.AddPages(2)), Is.EqualTo(99UL), "every page is shared");
            Assert.That(child.PfnAt(at), Is.EqualTo(mm.PfnAt(at)), "both map the same frame");
            Assert.That(host.Read(HostCounter.CowFaults), Is.Zero, "shared memory is never copied");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Writes_to_a_private_file_mapping_do_not_reach_the_file()
    {
        var (host, mm) = TestHosts.WithSpace();
        var file = host.CreateFile("disk.img", 4);
        file.WriteBacking(1, 0xF11E);
        var priv = mm.Mmap(4 * Hva.PageSize, VmaKind.FilePrivate, Protection.ReadWrite, file);
        var shared = mm.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);

        Assert.That(mm.ReadWord(priv.AddPages(1)), Is.EqualTo(0xF11EUL), "a private mapping reads the file's content");
        Assert.That(mm.HostWrite(priv.AddPages(1), 0xBAD), Is.EqualTo(HostStatus.Ok), "the private write succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(mm.ReadWord(priv.AddPages(1)), Is.EqualTo(0xBADUL), "the private mapping sees its own write");
            Assert.That(mm.ReadWord(shared.AddPages(1)), Is.EqualTo(0xF11EUL), "a shared mapping of the file still sees the file's content");
            Assert.That(file.ReadBacking(1), Is.EqualTo(0xF11EUL), "the backing store is untouched");
            Assert.That(host.Memory.Read(file.CachedPage(1)!.Value, new AccessSite("test", -1, 1)), Is.EqualTo(0xF11EUL), "the page cache is untouched");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Writes_to_a_shared_file_mapping_are_visible_through_another_mapping_of_the_same_file()
    {
        var (host, mm) = TestHosts.WithSpace();
        var file = host.CreateFile("disk.img", 4);
        var first = mm.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var second = mm.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var other = host.CreateAddressSpace("other");
        var third = other.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.Read, file);

        Assert.That(mm.ReadWord(second.AddPages(2)), Is.Zero, "the second mapping faults the page in first, read-only");
        Assert.That(mm.HostWrite(first.AddPages(2), 0x5EE), Is.EqualTo(HostStatus.Ok), "a write through the first mapping");

        Assert.Multiple(() =>
        {
            Assert.That(mm.ReadWord(second.AddPages(2)), Is.EqualTo(0x5EEUL), "another mapping in the same process sees it");
            Assert.That(other.ReadWord(third.AddPages(2)), Is.EqualTo(0x5EEUL), "a mapping in another process sees it");
            Assert.That(mm.PfnAt(first.AddPages(2)), Is.EqualTo(file.CachedPage(2)), "both map the page-cache frame");
            Assert.That(host.Memory.Flags(file.CachedPage(2)!.Value).HasFlag(FrameFlags.Dirty), Is.True,
                "the written page-cache page is dirty (writeback would find it)");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
