using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// A stop that arrives before the daemon is serving (<c>docker stop</c> or <c>systemctl stop</c> right after a start,
/// while the scenario files are still being loaded) ends the daemon as gracefully as a later one: exit 0, a complete
/// JSON log, nothing already logged lost.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeEarlyStopTests
{
    [Test]
    [CancelAfter(120_000)]
    public void A_stop_while_the_scenario_files_are_loading_ends_cleanly_with_a_complete_log(CancellationToken token)
    {
        // Many files to validate make loading last long enough for the signal to land in the middle of it.
        using var directory = new TempDirectory();
        for (var i = 0; i < 1500; i++)
        {
            ScenarioText.Write(directory, $"scenarios/broken-{i:D4}.yaml", ScenarioText.BrokenVcpus);
        }

        ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny", restart: "always"));
        using var daemon = HypervisorProcess.Start(directory.Path, null, "serve", "--log-dir", directory.Combine("logs"),
            $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}");

        // Named wait: the first file's problem is on the console, so loading is under way.
        while (!daemon.StandardError.Contains("broken-0000.yaml", StringComparison.Ordinal))
        {
            Assert.That(token.IsCancellationRequested, Is.False, $"the daemon starts loading within the time limit\n{daemon}");
            Thread.Sleep(2);
        }

        daemon.Terminate();
        var exit = daemon.WaitForExit(token);

        Assert.That(exit, Is.Zero, $"an early stop is a graceful stop (143 would mean SIGTERM killed the process)\n{daemon}");
        Assert.That(daemon.StandardError, Does.Not.Contain("   at "), "no stack trace");
        var log = JsonLog.Read(directory.Combine("logs"));
        Assert.That(log.Count(l => l.Id == 9), Is.GreaterThanOrEqualTo(1), "the problems logged before the stop are in the file");
        Assert.That(log.Single(l => l.Id == 11).String("Reason"), Does.StartWith("stop requested"), "the daemon says why it stopped");
        LogContract.AssertConforms(log);
    }
}
