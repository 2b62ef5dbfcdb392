using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.Mirrors.Common;
using Hypervisor.Mirrors.Tests.Support;
using Hypervisor.Mirrors.Xpmem;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests.Xpmem;

/// <summary>The XPMEM-like export: local and remote importers, purges with acknowledgements, the broken variants.</summary>
[CancelAfter(30_000)]
public sealed class XpmemTests
{
    [Test]
    public void A_local_importer_shares_the_exporters_pages_pins_them_and_an_unmap_unpins_them()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(4);
        mm.Fill(ptr, 4, i => 10 + i);
        var segment = new XpmemSegment(mm, ptr, 4, "seg");
        var att = segment.Attach("importer");

        Assert.That(att.Read(1, out var seen), Is.EqualTo(HostStatus.Ok), "importer read");
        Assert.That(att.Write(2, 99), Is.EqualTo(HostStatus.Ok), "importer write");
        mm.Fill(ptr.AddPages(1), 1, _ => 77);
        Assert.That(att.Read(1, out var afterExporterWrite), Is.EqualTo(HostStatus.Ok), "importer re-read");
        var pfn = mm.PteOf(ptr.AddPages(1));
        var refsWhileMapped = host.Memory.RefCount(new Pfn((int)HostMemory.PageTables.Pte.PfnOf(pfn).Value));
        Assert.That(mm.Munmap(ptr, 4 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "exporter munmap");

        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(11UL), "the importer reads the exporter's page");
            Assert.That(afterExporterWrite, Is.EqualTo(77UL), "and sees the exporter's later writes");
            Assert.That(refsWhileMapped, Is.EqualTo(2), "the mapping plus the importer's pin");
            Assert.That(att.MappedPages, Is.Zero, "the unmap purged the attachment");
            Assert.That(segment.CheckCoherence(), Is.Zero, "coherent");
            Assert.That(host.Violations.Total, Is.Zero, "no violations, and the unpinned frames were freed cleanly");
        });
    }

    [Test]
    public void A_remote_importers_purge_is_waited_for_and_the_host_operation_takes_at_least_the_latency()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(2);
        mm.Fill(ptr, 2, i => i + 1);
        using var remote = new RemotePartition("node1", TimeSpan.FromMilliseconds(20));
        var segment = new XpmemSegment(mm, ptr, 2, "seg");
        var att = segment.Attach("remote-importer", remote);
        Assert.That(att.Read(0, out _), Is.EqualTo(HostStatus.Ok), "remote read");

        var t0 = Stopwatch.GetTimestamp();
        Assert.That(mm.MadviseDontNeed(ptr, Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");
        var took = Stopwatch.GetElapsedTime(t0);
        Assert.That(att.Read(0, out var after), Is.EqualTo(HostStatus.Ok), "remote re-read");

        Assert.Multiple(() =>
        {
            Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(19)), "the invalidation slept until the remote acknowledged");
            Assert.That(after, Is.Zero, "the remote sees the page as it is now");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Mutation_xpmem_no_ack_wait_is_caught_the_remote_reads_a_freed_frame()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 5);
        using var remote = new RemotePartition("node1", TimeSpan.FromMilliseconds(200));
        var segment = new XpmemSegment(mm, ptr, 1, "seg", MirrorMutations.XpmemNoAckWait);
        var att = segment.Attach("remote-importer", remote);
        Assert.That(att.Read(0, out _), Is.EqualTo(HostStatus.Ok), "remote read");

        Assert.That(mm.MadviseDontNeed(ptr, Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise returns before the remote purged");
        att.Read(0, out var value);

        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Count(ViolationKind.UseAfterFree), Is.EqualTo(1), "the unpinned remote mapping outlived the page");
            Assert.That(value, Is.EqualTo(HostMemory.Physical.PhysicalMemory.Poison), "it read poison");
        });
    }

    [Test]
    public void A_pin_taken_before_an_invalidation_is_not_installed_after_it()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 5);
        var segment = new XpmemSegment(mm, ptr, 1, "seg");
        var att = segment.Attach("importer");
        CollideOnce(att, mm, ptr);

        Assert.That(att.Read(0, out var value), Is.EqualTo(HostStatus.Ok), "read");
        mm.Fill(ptr, 1, _ => 6);
        att.Read(0, out var afterExporterWrite);

        Assert.Multiple(() =>
        {
            Assert.That(segment.Statistics.Retries, Is.EqualTo(1), "the sequence check saw the invalidation");
            Assert.That(value, Is.Zero, "the importer maps the page the exporter has now");
            Assert.That(afterExporterWrite, Is.EqualTo(6UL), "and sees the exporter's writes");
            Assert.That(segment.CheckCoherence(), Is.Zero, "coherent");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Mutation_xpmem_no_seq_check_the_drivers_install_after_invalidation_leaves_a_permanent_stale_mapping()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 5);
        var segment = new XpmemSegment(mm, ptr, 1, "seg", MirrorMutations.XpmemNoSeqCheck);
        var att = segment.Attach("importer");
        CollideOnce(att, mm, ptr);

        att.Read(0, out var value);
        mm.Fill(ptr, 1, _ => 6);
        att.Read(0, out var afterExporterWrite);

        Assert.Multiple(() =>
        {
            Assert.That(value, Is.EqualTo(5UL), "the importer installed the old, pinned page");
            Assert.That(afterExporterWrite, Is.EqualTo(5UL), "and never sees the exporter's writes");
            Assert.That(segment.CheckCoherence(), Is.EqualTo(1), "the checker finds the stale mapping");
            Assert.That(host.Violations.Count(MirrorViolations.StaleMapping), Is.EqualTo(1), "reported");
            Assert.That(host.Violations.Count(ViolationKind.UseAfterFree), Is.Zero, "the pin keeps the old frame alive: stale, not freed");
        });
    }

    [Test]
    public void An_invalidation_elsewhere_does_not_end_one_that_is_open_on_the_segment()
    {
        var (host, mm) = Hosts.WithSpace();
        var ptr = mm.MapAnon(8);
        mm.Fill(ptr, 8, i => i);
        var segment = new XpmemSegment(mm, ptr, 4, "seg");
        var att = segment.Attach("importer");
        var inside = new HostMemory.Notifiers.NotifierRange(ptr, ptr.AddPages(1), HostMemory.Notifiers.NotifierEvent.Clear, HostMemory.Notifiers.InvalidationCause.Other);
        var outside = new HostMemory.Notifiers.NotifierRange(ptr.AddPages(6), ptr.AddPages(7), HostMemory.Notifiers.NotifierEvent.Clear, HostMemory.Notifiers.InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(inside), Is.True, "an invalidation of the segment opens");
        Assert.That(mm.Notifiers.InvalidateRangeStart(outside), Is.True, "another, elsewhere");
        mm.Notifiers.InvalidateRangeEnd(outside);

        var fault = new Thread(() => att.Read(0, out _)) { Name = "importer-fault", IsBackground = true };
        fault.Start();
        var waited = !fault.Join(TimeSpan.FromMilliseconds(200));
        mm.Notifiers.InvalidateRangeEnd(inside);

        Assert.Multiple(() =>
        {
            Assert.That(waited, Is.True, "the fault waits for the segment's own invalidation, not the one elsewhere");
            Assert.That(fault.Join(TimeSpan.FromSeconds(10)), Is.True, "and completes after its end");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    /// <summary>After the fault pinned the page and before it installs it, the exporter drops the page (madvise).</summary>
    private static void CollideOnce(XpmemAttachment att, HostMemory.AddressSpaces.AddressSpace mm, Hva page)
    {
        var fired = 0;
        att.AfterPin = _ =>
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                mm.MadviseDontNeed(page, Hva.PageSize);
            }
        };
    }
}
