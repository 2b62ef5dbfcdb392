using Hypervisor.Host.Analyze;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>
/// <c>analyze</c> breaks the other secondary MMUs' counters (invalidations, refusals, retries, callback time) down by
/// client and by client kind, from the run summaries, in every output format.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class ClientStatisticsTests
{
    private static void TwoRuns(SyntheticLog log)
    {
        log.ScenarioStarted(0, "double-map", "run-1", "modern");
        log.RunSummary(1, "double-map", "run-1", "modern", 1, new Totals(0, 0, 0, 0), clients:
        [
            new("gpu0", "hmm-mirror", "vm", Invalidations: 100, Refusals: 2, Retries: 7, CallbackMicros: 50),
            new("gpu1", "hmm-mirror", "vm", Invalidations: 100, Refusals: 0, Retries: 3, CallbackMicros: 30),
        ]);
        log.ScenarioStarted(2, "xpmem", "run-2", "modern");
        log.Invalidation(2.5, new Invalidation { RunId = "run-2", Guest = "db" });
        log.RunSummary(3, "xpmem", "run-2", "modern", 1, new Totals(0, 0, 0, 0), clients:
        [
            new("seg0", "xpmem-export", "db", Invalidations: 40, Refusals: 0, Retries: 1, CallbackMicros: 4000),
            new("gpu0", "hmm-mirror", "db", Invalidations: 10, Refusals: 1, Retries: 0, CallbackMicros: 20),
        ]);
    }

    [Test]
    public void Clients_are_summed_by_name_and_by_kind_across_runs()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, TwoRuns);
        var gpu0 = report.ByClient.Single(c => c.Key == "gpu0");
        var hmm = report.ByClientKind.Single(c => c.Key == "hmm-mirror");
        var xpmem = report.ByClientKind.Single(c => c.Key == "xpmem-export");
        Assert.Multiple(() =>
        {
            Assert.That(report.ByClient.Select(c => c.Key), Is.EqualTo(new[] { "gpu0", "gpu1", "seg0" }), "by invalidations, most first");
            Assert.That((gpu0.Runs, gpu0.Invalidations, gpu0.Refusals, gpu0.Retries, gpu0.CallbackMicros), Is.EqualTo((2L, 110L, 3L, 7L, 70.0)),
                "gpu0 of both runs adds up");
            Assert.That(gpu0.Kind, Is.EqualTo("hmm-mirror"), "a client's row names its kind");
            Assert.That((hmm.Runs, hmm.Invalidations, hmm.Refusals, hmm.Retries), Is.EqualTo((3L, 210L, 3L, 10L)), "every HMM mirror of every run");
            Assert.That(xpmem.CallbackMicrosPerInvalidation, Is.EqualTo(100.0), "XPMEM's callback time per invalidation");
        });
    }

    [Test]
    public void A_guest_filter_keeps_the_clients_of_that_guest()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, TwoRuns, new AnalyzeFilter { Guest = "db" });
        Assert.That(report.ByClient.Select(c => (c.Key, c.Invalidations)), Is.EqualTo(new[] { ("seg0", 40L), ("gpu0", 10L) }),
            "only the clients mirroring db");
    }

    [Test]
    public void Every_text_format_renders_the_client_tables()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, TwoRuns);
        var tables = ReportTables.Build(report, 100);
        var byClient = tables.Single(t => t.Id == "by-client");
        var byKind = tables.Single(t => t.Id == "by-client-kind");
        Assert.Multiple(() =>
        {
            Assert.That(byClient.Columns, Does.Contain("refusals").And.Contain("retries").And.Contain("callback µs"), "the counters the issue names");
            Assert.That(byClient.Rows, Has.Count.EqualTo(3), "one row per client");
            Assert.That(byKind.Rows.Select(r => r[0]), Is.EquivalentTo(new[] { "hmm-mirror", "xpmem-export" }), "one row per kind");
        });

        var none = ReportTables.Build(LogFiles.Analyze(directory, log => KnownLog.Write(log)), 100).Single(t => t.Id == "by-client");
        Assert.That(none.Note, Does.Contain("no run"), "without clients the table says why it is empty");
    }
}
