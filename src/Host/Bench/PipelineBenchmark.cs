using System.Diagnostics;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;
using Serilog.Extensions.Logging;

namespace Hypervisor.Host.Bench;

/// <summary>The measurements of <see cref="BenchVerb"/>, with the default logging settings.</summary>
internal static class PipelineBenchmark
{
    public static int Run(TextWriter output, int events, int producers, string scenarioPath, string durationText, int pairs, string? logDir)
    {
        if (events < 1 || producers < 1 || pairs < 1)
        {
            throw new BadInputException($"--events, --producers, --pairs: expected integers >= 1, got {events}, {producers} and {pairs}");
        }

        if (!ScenarioUnits.TryParseDuration(durationText, out var duration, out _) || duration <= TimeSpan.Zero)
        {
            throw new BadInputException($"--duration: expected a positive duration such as 5s, got '{durationText}'");
        }

        var scenarios = ScenarioFiles.LoadAll([scenarioPath], Console.Error) ?? throw new BadInputException($"--scenario: '{scenarioPath}' is not a valid scenario");
        var directory = logDir ?? Path.Combine(Path.GetTempPath(), "hypervisor-bench-" + Environment.ProcessId);
        try
        {
            Throughput(output, events, producers, Path.Combine(directory, "throughput"));
            Slowdown(output, scenarios[0], duration, pairs, Path.Combine(directory, "scenario"));
        }
        finally
        {
            if (logDir is null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        return ExitCodes.Clean;
    }

    /// <summary>Synthetic invalidations from <paramref name="producers"/> threads, timed until the log file is closed.</summary>
    private static void Throughput(TextWriter output, int events, int producers, string directory)
    {
        var (pipeline, serilog, _) = Start(directory);
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
        {
            var sink = pipeline.CreateSink();
            var scenario = $"bench-{p}";
            sink.Publish(new ScenarioStartedEvent(scenario, TimeSpan.Zero, 1, "modern", null, 1, 1));
            var per = events / producers + (p < events % producers ? 1 : 0);
            for (var i = 0; i < per; i++)
            {
                var start = new Hva(0x7f00_0000_0000UL + ((ulong)i << 12));
                var record = new InvalidationRecord("guest", InvalidationCause.Munmap, NotifierEvent.Unmap, start, new Hva(start.Value + 4096),
                    1, 0, TimeSpan.FromMicroseconds(2), SinglePage: false, TlbFlushed: true);
                sink.Publish(new InvalidationEvent(scenario, clock.Elapsed, "modern", record));
            }
        })
        { Name = $"bench-producer-{p}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var published = clock.Elapsed;
        pipeline.Complete();
        pipeline.Completion.GetAwaiter().GetResult();
        var consumed = clock.Elapsed;
        serilog.Dispose();
        var written = clock.Elapsed;
        var snapshot = pipeline.Snapshot();
        var bytes = Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length);
        output.WriteLine($"pipeline: {events:N0} invalidation events from {producers} producers");
        output.WriteLine($"  published in {published.TotalSeconds:0.00} s, consumed in {consumed.TotalSeconds:0.00} s, on disk in {written.TotalSeconds:0.00} s");
        output.WriteLine($"  throughput: {events / written.TotalSeconds:N0} events/s end to end ({events / consumed.TotalSeconds:N0} events/s through the consumer)");
        output.WriteLine($"  producers blocked {snapshot.Blocked.TotalSeconds:0.00} s in total; queue depth up to {snapshot.MaxQueueDepth:N0}; {bytes / (double)events:0} bytes/event, {bytes / 1048576.0:0.0} MiB");
    }

    /// <summary>
    /// The same scenario, alternately with events discarded and with every event logged to the JSON file,
    /// <paramref name="pairs"/> times each; medians, so one disturbed run on a shared machine does not decide.
    /// </summary>
    private static void Slowdown(TextWriter output, Scenario scenario, TimeSpan duration, int pairs, string directory)
    {
        var bare = new List<double>();
        var logged = new List<double>();
        var bareCpu = new List<double>();
        var loggedCpu = new List<double>();
        long invalidations = 0;
        long events = 0;
        var blocked = TimeSpan.Zero;
        for (var i = 0; i < pairs; i++)
        {
            var cpu = CpuTime();
            var plain = new ScenarioRunner().Run(scenario, new RunOptions { Duration = duration });
            bareCpu.Add(NanosPerAccess(CpuTime() - cpu, plain.Totals.Accesses));
            bare.Add(plain.Totals.AccessesPerSecond);
            cpu = CpuTime();
            var (pipeline, serilog, _) = Start(Path.Combine(directory, $"run{i}"));
            var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = duration, Events = pipeline.CreateSink() });
            pipeline.Complete();
            pipeline.Completion.GetAwaiter().GetResult();
            serilog.Dispose();
            loggedCpu.Add(NanosPerAccess(CpuTime() - cpu, summary.Totals.Accesses));
            logged.Add(summary.Totals.AccessesPerSecond);
            invalidations += summary.Totals.Invalidations;
            events += pipeline.Snapshot().Events;
            blocked += pipeline.Snapshot().Blocked;
        }

        var a = Median(bare);
        var b = Median(logged);
        output.WriteLine($"scenario {scenario.Name}: {pairs} pairs of {duration.TotalSeconds:0.#} s runs, alternating");
        output.WriteLine($"  events discarded (RunOptions.Events = null): median {a:N0} accesses/s ({string.Join(", ", bare.Select(x => x.ToString("N0")))})");
        output.WriteLine($"  every event logged to JSON:                 median {b:N0} accesses/s ({string.Join(", ", logged.Select(x => x.ToString("N0")))})");
        output.WriteLine($"  logged runs: {invalidations / (pairs * duration.TotalSeconds):N0} invalidations/s, {events:N0} events, producers blocked {blocked.TotalMilliseconds:0} ms");
        output.WriteLine($"  slowdown of the median: {(a <= 0 ? 0 : 100.0 * (a - b) / a):0.0}%");

        // Accesses per second depend on how much of the two cores the other processes leave; the process's CPU time per
        // access (every thread: vCPUs, consumer, file writes, GC) is what logging adds, whatever the load.
        var c = Median(bareCpu);
        var d = Median(loggedCpu);
        output.WriteLine($"  CPU per access (whole process): median {c:0.0} ns with events discarded, {d:0.0} ns with every event logged: "
            + $"{(c <= 0 ? 0 : 100.0 * (d - c) / c):0.0}% more");
    }

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static double NanosPerAccess(TimeSpan cpu, long accesses) => accesses <= 0 ? 0 : cpu.TotalNanoseconds / accesses;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static (EventPipeline Pipeline, Serilog.Core.Logger Serilog, LiveTotals Totals) Start(string directory)
    {
        var serilog = SerilogFactory.Create(new LoggingOptions { LogDirectory = directory }, consoleLevel: null, writeFile: true);
        var totals = new LiveTotals();
        var pipeline = new EventPipeline(new SerilogLoggerFactory(serilog).CreateLogger(InvalidationLogWriter.SourceContext), totals,
            TimeSpan.FromMinutes(10), serilog: serilog);
        pipeline.Start();
        return (pipeline, serilog, totals);
    }
}
