using System.Diagnostics;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>
/// Rough figures, printed, never asserted: aging cost per page and reclaim throughput. Run with
/// <c>dotnet test tests/HostMemory.Tests --filter "FullyQualifiedName~ReclaimThroughput" -c Release</c> (it is
/// <c>[Explicit]</c>, so a plain run skips it).
/// </summary>
[Explicit("prints measurements; takes a few seconds")]
public sealed class ReclaimThroughput : ReclaimFixture
{
    private const int Pages = 200_000;

    private const int Rounds = 4;

    [Test]
    public void Aging_cost_per_page_and_reclaim_pages_per_second()
    {
        foreach (var withNotifier in new[] { false, true })
        {
            var host = NewHost(frames: Pages + 1024, swapSlots: Pages + 1024);
            using var manager = new HostMemoryManager(host);
            var mm = host.CreateAddressSpace("vmm");
            if (withNotifier)
            {
                mm.RegisterNotifier(new QuietNotifier());
            }

            var start = MapAndFill(mm, Pages, i => (ulong)i);
            var label = withNotifier ? "one notifier" : "no notifier";

            // Several rounds so that the JIT has tiered the loops up; the last round is the figure.
            for (var round = 1; round <= Rounds; round++)
            {
                // CPU time beside wall time: on a shared, loaded machine the process's own CPU seconds move far less.
                var cpu = CpuNow();
                var watch = Stopwatch.StartNew();
                var aged = manager.AgeAll();
                var agingNs = watch.Elapsed.TotalNanoseconds / aged.Scanned;
                var agingCpuNs = (CpuNow() - cpu).TotalNanoseconds / aged.Scanned;

                cpu = CpuNow();
                watch.Restart();
                var reclaimed = manager.ReclaimPass(Pages); // every page is cold: AgeAll just cleared the bits
                var seconds = watch.Elapsed.TotalSeconds;
                var reclaimCpuNs = (CpuNow() - cpu).TotalNanoseconds / reclaimed.FramesFreed;

                watch.Restart();
                for (var p = 0UL; p < Pages; p++)
                {
                    mm.HostRead(start.AddPages(p), out _);
                }

                var swapInSeconds = watch.Elapsed.TotalSeconds;
                TestContext.Out.WriteLine($"[{label}, round {round}] aging {aged.Scanned} pages: {agingNs:F1} ns/page; " +
                    $"reclaim {reclaimed.FramesFreed} frames: {reclaimed.FramesFreed / seconds:F0} pages/s ({1e9 * seconds / reclaimed.FramesFreed:F0} ns/page); " +
                    $"swap-in: {Pages / swapInSeconds:F0} pages/s; cpu: aging {agingCpuNs:F1} ns/page, reclaim {reclaimCpuNs:F0} ns/page");
            }

            mm.Exit();
        }
    }

    private const int WritebackPages = 100_000;

    [Test]
    public void Writeback_cost_per_page()
    {
        var host = NewHost(frames: WritebackPages + 1024);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var file = host.CreateFile("writeback-bench", WritebackPages);
        var start = mm.Mmap((ulong)WritebackPages << Hva.PageShift, VmaKind.FileShared, Protection.ReadWrite, file);
        for (var p = 0UL; p < WritebackPages; p++)
        {
            Assert.That(mm.HostWrite(start.AddPages(p), p), Is.EqualTo(HostStatus.Ok), $"page {p} is written");
        }

        // Two passes, each after every page is dirtied again (the first after the initial writes); the last is the figure.
        for (var round = 1; round <= 2; round++)
        {
            for (var p = 0UL; p < WritebackPages; p++)
            {
                mm.HostWrite(start.AddPages(p), p + (ulong)round);
            }

            var cpu = CpuNow();
            var watch = Stopwatch.StartNew();
            var result = manager.WritebackPass();
            var ns = watch.Elapsed.TotalNanoseconds;
            var cpuNs = (CpuNow() - cpu).TotalNanoseconds;
            TestContext.Out.WriteLine($"[writeback, round {round}] {result.PagesWritten} pages written, " +
                $"{result.MappingsCleaned} mappings cleaned: {ns / Math.Max(1, result.PagesWritten):F1} ns/page; " +
                $"cpu {cpuNs / Math.Max(1, result.PagesWritten):F1} ns/page");
        }

        mm.Exit();
    }

    private static TimeSpan CpuNow() => Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>A secondary that maps nothing and answers at once: measures the cost of the calls themselves.</summary>
    private sealed class QuietNotifier : IMmuNotifier
    {
        public void Release(AddressSpace mm)
        {
        }

        public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range) => true;

        public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
        {
        }

        public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
        {
        }

        public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

        public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

        public bool TestYoung(AddressSpace mm, Hva hva) => false;
    }
}
