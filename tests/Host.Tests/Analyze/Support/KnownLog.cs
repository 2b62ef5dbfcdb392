namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>
/// A ten-second run whose statistics are known in advance: 100 invalidations (vm0 75, vm1 25; munmap 60, reclaim
/// 30, copy-on-write 10; 1, 2, 4, 8 or 16 pages, 20 each; every fourth zaps nothing; durations 1..100 µs; ten per
/// second), statistics every 2 s per guest ending with a final one (1000 faults and 60 retries per guest), then a
/// stale non-final statistics event that must not replace the final one, and a run summary that agrees.
/// </summary>
internal static class KnownLog
{
    public const string Scenario = "quickstart";
    public const string RunId = "run-1";
    public const double Duration = 10;
    public const ulong Base = 0x7f00_0000_0000;
    public const long FaultsPerGuestSecond = 100;

    public static readonly string[] Guests = ["vm0", "vm1"];

    /// <summary>The invalidations written, for tests to compute expectations with plain LINQ.</summary>
    public static IReadOnlyList<(double At, Invalidation Event)> Invalidations { get; } = [.. Enumerable.Range(0, 100).Select(Make)];

    public static long RetriesPerGuest => 60;

    public static Totals SummaryTotals => new(
        Invalidations.Count,
        Invalidations.Sum(i => i.Event.SptesZapped),
        Invalidations.Count(i => i.Event.TlbFlushed),
        RetriesPerGuest * Guests.Length,
        FaultsPerGuestSecond * (long)Duration * Guests.Length);

    public static void Write(SyntheticLog log, string runId = RunId, string profile = "modern", double offset = 0,
        string scenario = Scenario, bool complete = true)
    {
        log.Bare(offset, 10, "DaemonStarted");
        log.ScenarioStarted(offset, scenario, runId, profile, guests: Guests.Length);
        var statisticsAt = 2.0;
        foreach (var (at, invalidation) in Invalidations)
        {
            while (at >= statisticsAt && statisticsAt < Duration)
            {
                WriteStatistics(log, offset, statisticsAt, runId, scenario, final: false);
                statisticsAt += 2;
            }

            log.Invalidation(offset + at, invalidation with { RunId = runId, Profile = profile, Scenario = scenario, ElapsedSeconds = at });
        }

        log.RetryBurst(offset + 3.5, scenario, runId, "vm0", 1, 12);
        log.RetryBurst(offset + 4.5, scenario, runId, "vm0", 0, 9);
        log.RetryBurst(offset + 5.5, scenario, runId, "vm1", 1, 7);
        log.HostActivity(offset + 1.5, scenario, runId, "vm0", "reclaim", "done");
        log.HostActivity(offset + 6.5, scenario, runId, "vm1", "fork", "done");
        if (!complete)
        {
            return;
        }

        WriteStatistics(log, offset, Duration, runId, scenario, final: true);
        log.ScenarioEnded(offset + Duration, scenario, runId, Duration);
        var perGuest = Guests.ToDictionary(g => g, g => new Totals(
            Invalidations.Count(i => i.Event.Guest == g),
            Invalidations.Where(i => i.Event.Guest == g).Sum(i => i.Event.SptesZapped),
            Invalidations.Count(i => i.Event.Guest == g && i.Event.TlbFlushed),
            RetriesPerGuest));
        log.RunSummary(offset + Duration, scenario, runId, profile, Duration, SummaryTotals, perGuest);

        // A periodic snapshot taken before the final one but logged after it: older counts, not final.
        log.Statistics(offset + Duration + 0.5, Snapshot(Duration - 1, runId, scenario, "vm0", final: false));
    }

    /// <summary>Cumulative counters at <paramref name="seconds"/> into the run: retries 5 + 1 per second.</summary>
    public static Statistics Snapshot(double seconds, string runId, string scenario, string guest, bool final) => new()
    {
        Scenario = scenario,
        RunId = runId,
        Guest = guest,
        Final = final,
        ElapsedSeconds = seconds,
        Accesses = (long)(seconds * 1000),
        Faults = (long)(seconds * FaultsPerGuestSecond),
        Invalidations = 0,
        TlbFlushes = (long)(seconds * 7.5),
        TlbFlushWaitMicros = seconds * 50,
        YoungCalls = (long)(seconds * 4),
        YoungTrue = (long)seconds,
        RetriesByReason = Statistics.Reasons((long)(seconds * 5), (long)seconds),
    };

    private static void WriteStatistics(SyntheticLog log, double offset, double at, string runId, string scenario, bool final)
    {
        foreach (var guest in Guests)
        {
            log.Statistics(offset + at, Snapshot(at, runId, scenario, guest, final));
        }
    }

    private static (double, Invalidation) Make(int i)
    {
        long pages = 1L << (i % 5);
        var kind = i % 10 == 0 ? "copy-on-write" : i % 10 <= 3 ? "reclaim" : "munmap";
        var zapped = i % 4 == 3 ? 0 : pages;
        return (i * 0.1, new Invalidation
        {
            Guest = i % 4 == 0 ? "vm1" : "vm0",
            Event = kind,
            NotifierEvent = kind == "copy-on-write" ? "clear" : "unmap",
            StartHva = Base + ((ulong)(i % 3) * (2UL << 20)) + ((ulong)i * 4096),
            Pages = pages,
            SptesZapped = zapped,
            TlbFlushed = zapped > 0,
            DurationMicros = i + 1,
        });
    }
}
