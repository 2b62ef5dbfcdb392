using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// <c>restart: always</c>: the daemon runs a scenario again after each run, under a new run id, says which run it
/// restarts after, writes each run's summary file, and a SIGTERM in the middle of a run still ends it with a summary.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeRestartTests
{
    [Test]
    [CancelAfter(60_000)]
    public void A_scenario_with_restart_always_runs_again_under_a_new_run_id(CancellationToken token)
    {
        using var directory = new TempDirectory();
        ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny", restart: "always", duration: "1s"));
        using var daemon = HypervisorProcess.Start(directory.Path, null, "serve", "--log-dir", directory.Combine("logs"),
            $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}", "--Daemon:RestartDelay=00:00:00.100",
            $"--Daemon:SummaryDirectory={directory.Combine("summaries")}");

        // Named wait: the second run has started (the console log shows each start).
        while (daemon.StandardError.Split(" started: seed ").Length - 1 < 2)
        {
            token.ThrowIfCancellationRequested();
            Thread.Sleep(100);
        }

        daemon.Terminate();
        var exit = daemon.WaitForExit(token);
        var log = JsonLog.Read(directory.Combine("logs"));

        Assert.That(exit, Is.Zero, $"clean runs, stopped by SIGTERM\n{daemon}");
        var runs = log.Where(l => l.Id == 1).Select(l => l.RunId).ToList();
        Assert.That(runs, Has.Count.GreaterThanOrEqualTo(2).And.Unique, "the scenario ran again, each run with its own id");
        var restarts = log.Where(l => l.Id == 12).Select(l => l.RunId).ToList();
        Assert.That(restarts, Is.EqualTo(runs.Take(restarts.Count)).And.Count.GreaterThanOrEqualTo(runs.Count - 1),
            "each restart names the run that ended before it");
        foreach (var run in runs)
        {
            var summary = log.Single(l => l.Id == 7 && l.RunId == run);
            var totals = summary.Properties.GetProperty("Summary").GetProperty("Totals");
            Assert.That(log.Count(l => l.Id == 3 && l.RunId == run), Is.EqualTo(totals.GetProperty("Invalidations").GetInt64()),
                $"run {run}: every invalidation its summary counts is logged, the interrupted last run included");
            Assert.That(File.Exists(directory.Combine("summaries", $"tiny-{run}.json")), Is.True, $"run {run}'s summary file");
        }
    }
}
