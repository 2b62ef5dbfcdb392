using System.Diagnostics;
using Hypervisor.Host.Analyze;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>How fast analyze reads a large log, and that its memory does not grow with the log.</summary>
[TestFixture]
[Explicit("writes a ~200 MB log; run with --filter FullyQualifiedName~ThroughputTests")]
[CancelAfter(600_000)]
public class ThroughputTests
{
    private const long TargetBytes = 200L << 20;

    [Test]
    public void Analyze_reads_a_200_MB_log_and_reports_MB_per_second()
    {
        using var directory = new TempDirectory();
        var path = directory.File("big.json");
        long invalidations = 0;
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var log = new SyntheticLog(stream, ownsStream: false))
        {
            var random = new Random(1234);
            for (var run = 0; stream.Position < TargetBytes; run++)
            {
                var runId = $"run-{run}";
                var profile = run % 2 == 0 ? "modern" : "legacy2008";
                log.ScenarioStarted(run * 60, "throughput", runId, profile, guests: 4);
                for (var i = 0; i < 20_000; i++)
                {
                    var at = i * 0.003;
                    log.Invalidation((run * 60) + at, new Invalidation
                    {
                        Scenario = "throughput", RunId = runId, Profile = profile, Guest = $"vm{i % 4}",
                        Event = (i % 7) switch { 0 => "copy-on-write", 1 => "reclaim", 2 => "migration", _ => "munmap" },
                        StartHva = 0x7f00_0000_0000UL + ((ulong)random.Next(0, 1 << 18) * 4096),
                        Pages = 1L << random.Next(0, 10), SptesZapped = random.Next(0, 64), TlbFlushed = random.Next(4) != 0,
                        DurationMicros = random.NextDouble() * 500, SinglePage = profile == "legacy2008" && i % 3 == 0, ElapsedSeconds = at,
                    });
                    if (i % 2000 == 1999)
                    {
                        log.Statistics((run * 60) + at, KnownLog.Snapshot(at, runId, "throughput", $"vm{i % 4}", final: false));
                    }
                }

                invalidations += 20_000;
            }
        }

        var bytes = new FileInfo(path).Length;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var report = LogAnalyzer.Analyze([path], AnalyzeFilter.None);
        stopwatch.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        var megabytes = bytes / (1024.0 * 1024.0);
        var rate = megabytes / stopwatch.Elapsed.TotalSeconds;
        TestContext.Out.WriteLine(
            $"analyze: {megabytes:0.0} MiB, {report.Input.Lines:N0} lines in {stopwatch.Elapsed.TotalSeconds:0.00} s = {rate:0.0} MiB/s "
            + $"({report.Input.Lines / stopwatch.Elapsed.TotalSeconds:N0} lines/s); {cpu:0.00} CPU s = {megabytes / cpu:0.0} MiB per CPU second; "
            + $"retained after analysis {retained / 1048576.0:0.0} MiB");
        GC.KeepAlive(report);
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(invalidations), "every invalidation counted");
            Assert.That(report.Input.Problems.Total, Is.Zero, "the generated log is clean");
            Assert.That(report.ProfileComparison, Is.Not.Null, "both profiles present");
            Assert.That(retained, Is.LessThan(16L << 20), "what analysis keeps does not grow with the log (aggregates only)");
        });
    }
}
