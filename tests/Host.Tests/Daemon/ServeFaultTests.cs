using System.Diagnostics;
using Hypervisor.Host.Daemon;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// Operational faults of the daemon: a scenario file built to crash the parser is skipped like any invalid file; a log
/// disk that fills up is reported at once and stops the daemon with exit 3 (the documented full-disk policy).
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeFaultTests
{
    [Test]
    [CancelAfter(120_000)]
    public void A_deeply_nested_scenario_file_is_skipped_and_the_others_are_served(CancellationToken token)
    {
        using var directory = new TempDirectory();
        ScenarioText.Write(directory, "scenarios/deep.yaml", "name: deep\nhost: " + new string('[', 30_000) + "\n");
        ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny", duration: "500ms"));
        var (exit, daemon) = HypervisorProcess.Run(directory.Path, token, "serve", "--log-dir", directory.Combine("logs"),
            $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}");
        using var _ = daemon;
        Assert.That(exit, Is.Zero, $"the bad file is skipped, the good one served to its end\n{daemon}");
        var log = JsonLog.Read(directory.Combine("logs"));
        Assert.That(log.Single(l => l.Id == 9).String("Error"), Does.Contain("nested at most 64 deep"), "logged as ScenarioInvalid");
        Assert.That(log.Count(l => l.Id == 7), Is.EqualTo(1), "the other scenario ran and has its summary");
    }

    [Test]
    [CancelAfter(180_000)]
    public void A_full_log_disk_is_reported_at_once_and_stops_the_daemon_with_exit_3(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var logs = directory.Combine("logs");
        Directory.CreateDirectory(logs);
        using (var mount = Process.Start("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", logs]))
        {
            mount.WaitForExit();
            Assume.That(mount.ExitCode, Is.Zero, "needs to mount a small tmpfs (root); LogWriteMonitorTests covers the detection without it");
        }

        try
        {
            ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny", restart: "always", duration: "60s"));
            var clock = Stopwatch.StartNew();
            var (exit, daemon) = HypervisorProcess.Run(directory.Path, token, "serve", "--log-dir", logs,
                $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}", "--Logging:ConsoleLevel=Warning");
            using var _ = daemon;
            Assert.That(exit, Is.EqualTo(3), $"a log that cannot be written is a failure\n{daemon}");
            Assert.That(daemon.StandardError, Does.Contain("cannot be written (IOException: No space left on device"), "one clear line on the console");
            Assert.That(daemon.StandardError, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(50)), "stopped at the failure, not at the end of the 60 s run");
        }
        finally
        {
            using var umount = Process.Start("umount", [logs]);
            umount.WaitForExit();
        }
    }
}
