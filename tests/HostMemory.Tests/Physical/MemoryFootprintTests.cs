using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Physical;

/// <summary>
/// The design's memory budget: 16 bytes of frame metadata plus 6 bytes of reverse map per host frame, and about
/// 8 bytes of PTE per mapped page (the page-table page itself), at most 32 bytes in all, so that hundreds of GiB of
/// simulated memory fit on a small machine.
/// </summary>
public sealed class MemoryFootprintTests
{
    private const long GiB = 1L << 30;

    [Test]
    public void Populating_one_gib_costs_at_most_32_bytes_of_simulator_memory_per_4k_page()
    {
        const ulong pages = (ulong)(GiB >> Hva.PageShift);
        GC.Collect();
        var beforeHost = GC.GetAllocatedBytesForCurrentThread();
        var host = TestHosts.Host(ramBytes: GiB + (GiB / 2));
        var frameTableBytes = GC.GetAllocatedBytesForCurrentThread() - beforeHost;
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(pages);

        GC.Collect();
        var retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var beforePopulate = GC.GetAllocatedBytesForCurrentThread();
        mm.Populate(at, pages);
        var populateBytes = GC.GetAllocatedBytesForCurrentThread() - beforePopulate;
        var retainedAfter = GC.GetTotalMemory(forceFullCollection: true);

        var frameBytesPerFrame = (double)frameTableBytes / host.Memory.TotalFrames;
        var pteBytesPerPage = (double)populateBytes / pages;
        var retainedPerPage = (double)(retainedAfter - retainedBefore) / pages;
        TestContext.Out.WriteLine($"frame table: {frameTableBytes} B for {host.Memory.TotalFrames} frames = {frameBytesPerFrame:F2} B/frame");
        TestContext.Out.WriteLine($"populate 1 GiB: {populateBytes} B allocated = {pteBytesPerPage:F2} B/page; retained {retainedPerPage:F2} B/page; " +
            $"{mm.PageTable.PteTableCount} PTE tables");
        TestContext.Out.WriteLine($"total per mapped page: {frameBytesPerFrame + pteBytesPerPage:F2} B");

        Assert.Multiple(() =>
        {
            Assert.That(frameBytesPerFrame, Is.LessThanOrEqualTo(16.1 + Hypervisor.HostMemory.Physical.PhysicalMemory.RmapBytesPerFrame),
                "a frame costs 16 bytes (content word + state word) plus 6 of reverse map (mapping id + index)");
            Assert.That(pteBytesPerPage, Is.LessThanOrEqualTo(8.5), "a mapped page costs about one 8-byte PTE (plus its table's share of headers)");
            Assert.That(retainedPerPage, Is.LessThanOrEqualTo(8.5), "and that memory is what stays allocated");
            Assert.That(frameBytesPerFrame + pteBytesPerPage, Is.LessThanOrEqualTo(32), "the budget: 16 + 6 + 8 bytes per mapped 4 KiB page, plus a fraction of a byte of table headers, at most 32");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
        GC.KeepAlive(mm);
    }
}
