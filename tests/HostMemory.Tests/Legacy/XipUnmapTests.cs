using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Legacy;

/// <summary>
/// Execute-in-place files (<c>mm/filemap_xip.c</c>): holes map the shared sparse page; when a hole gets its block,
/// <c>__xip_unmap</c> removes every sparse-page mapping and tells the notifiers (<c>invalidate_page</c> after the
/// unlock in the 2008 patch, a range start/end around it in the modern profile), so no secondary MMU keeps the zeros.
/// </summary>
[TestFixture]
public sealed class XipUnmapTests
{
    [TestCase(NotifierProfile.Legacy2008, CallbackKind.InvalidatePage)]
    [TestCase(NotifierProfile.Modern, CallbackKind.InvalidateRangeStart)]
    public void A_write_into_a_hole_unmaps_the_sparse_page_from_every_mapping_and_notifies(NotifierProfile profile, CallbackKind expected)
    {
        var (host, reader) = TestHosts.WithSpace(profile);
        var file = host.CreateFile("dax", 8, xip: true);
        var other = host.CreateAddressSpace("other", profile);
        var inReader = reader.Mmap(8 * Hva.PageSize, VmaKind.FileShared, Protection.Read, file);
        var inOther = other.Mmap(8 * Hva.PageSize, VmaKind.FilePrivate, Protection.ReadWrite, file);
        Assert.That(reader.HostRead(inReader.AddPages(3), out var before), Is.EqualTo(HostStatus.Ok));
        Assert.That(other.HostRead(inOther.AddPages(3), out _), Is.EqualTo(HostStatus.Ok));
        Assert.That(Pte.PfnOf(reader.PteOf(inReader.AddPages(3))).IsZeroPage, Is.True, "a read of a hole maps the sparse page");
        var log = new EventLog();
        var kvm = new RecordingNotifier("kvm", log);
        reader.RegisterNotifier(kvm);

        Assert.That(file.XipWrite(host, 3, 0xDA7A), Is.EqualTo(HostStatus.Ok));

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.Zero, "the hole read zero");
            Assert.That(reader.PteOf(inReader.AddPages(3)), Is.Zero, "the reader's sparse mapping is gone");
            Assert.That(other.PteOf(inOther.AddPages(3)), Is.Zero, "and the other process's");
            Assert.That(host.Read(HostCounter.XipUnmaps), Is.EqualTo(2), "two sparse mappings removed");
            Assert.That(kvm.CallsOf(expected).Select(c => (c.Start, c.Cause)), Is.EqualTo(new[] { (inReader.AddPages(3), (InvalidationCause?)InvalidationCause.XipUnmap) }),
                "the secondary is told about exactly that page");
            Assert.That(reader.HostRead(inReader.AddPages(3), out var after) == HostStatus.Ok && after == 0xDA7A, Is.True,
                "the next access maps the block and reads the file's data");
            Assert.That(host.Violations.Total, Is.Zero);
        });
    }

    [Test]
    public void A_shared_writable_fault_allocates_the_block_and_the_private_mapping_then_reads_it()
    {
        var (host, writer) = TestHosts.WithSpace();
        var file = host.CreateFile("dax", 4, xip: true);
        var inWriter = writer.Mmap(4 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var reader = host.CreateAddressSpace("reader");
        var inReader = reader.Mmap(4 * Hva.PageSize, VmaKind.FilePrivate, Protection.ReadWrite, file);
        Assert.That(reader.HostRead(inReader.AddPages(1), out _), Is.EqualTo(HostStatus.Ok));

        Assert.That(writer.HostWrite(inWriter.AddPages(1), 77), Is.EqualTo(HostStatus.Ok));

        Assert.Multiple(() =>
        {
            Assert.That(file.XipBlock(1), Is.Not.Null, "the write fault allocated the block (get_xip_mem create)");
            Assert.That(Pte.PfnOf(writer.PteOf(inWriter.AddPages(1))), Is.EqualTo(file.XipBlock(1)), "the shared mapping maps the block itself");
            Assert.That(reader.PteOf(inReader.AddPages(1)), Is.Zero, "the private mapping's sparse page went");
            Assert.That(reader.HostRead(inReader.AddPages(1), out var seen) == HostStatus.Ok && seen == 77, Is.True, "and it reads the data");
            Assert.That(reader.HostWrite(inReader.AddPages(1), 5), Is.EqualTo(HostStatus.Ok), "a private write copies the block");
            Assert.That(writer.HostRead(inWriter.AddPages(1), out var shared) == HostStatus.Ok && shared == 77, Is.True, "without changing the file");
        });
    }

    [Test]
    public void The_broken_variant_leaves_the_secondary_uninformed()
    {
        var (host, mm) = TestHosts.WithSpace(NotifierProfile.Legacy2008, HostMutations.XipUnmapWithoutNotify);
        var file = host.CreateFile("dax", 2, xip: true);
        var at = mm.Mmap(2 * Hva.PageSize, VmaKind.FileShared, Protection.Read, file);
        Assert.That(mm.HostRead(at, out _), Is.EqualTo(HostStatus.Ok));
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);

        file.XipWrite(host, 0, 1);

        Assert.Multiple(() =>
        {
            Assert.That(mm.PteOf(at), Is.Zero, "the primary is still coherent");
            Assert.That(kvm.CallsOf(CallbackKind.InvalidatePage), Is.Empty, "xip-unmap-without-notify: no invalidate_page");
        });
    }
}
