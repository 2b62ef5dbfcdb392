using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// A scenario directory with a malformed file next to a good one: the daemon names the bad file, its line and field
/// in a ScenarioInvalid event and serves the good one; with nothing valid at all it refuses to start (exit 2).
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeScenarioDirectoryTests
{
    private static readonly string[] OnlyTiny = ["tiny"];

    [Test]
    [CancelAfter(60_000)]
    public void A_malformed_file_is_reported_with_its_line_and_field_and_the_good_one_is_served(CancellationToken token)
    {
        using var directory = new TempDirectory();
        ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny"));
        var broken = ScenarioText.Write(directory, "scenarios/broken.yaml", ScenarioText.BrokenVcpus);

        // restart: never: the daemon stops by itself once the good scenario has run.
        var (exit, process) = HypervisorProcess.Run(directory.Path, token, "serve", "--log-dir", directory.Combine("logs"),
            $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}");
        using var _ = process;
        var log = JsonLog.Read(directory.Combine("logs"));

        Assert.That(exit, Is.Zero, $"the daemon served the good scenario and stopped cleanly\n{process}");
        var invalid = log.Where(l => l.Id == 9).ToList();
        Assert.That(invalid, Has.Count.EqualTo(1), "one ScenarioInvalid event: the broken file has one problem");
        Assert.That(invalid[0].String("File"), Is.EqualTo(broken), "the event names the file");
        Assert.That(invalid[0].String("Error"), Does.Contain($"broken.yaml:{ScenarioText.BrokenVcpusLine}:").And.Contain("guests[0].vcpus"),
            "the error names the line and the field");
        Assert.That(process.StandardError, Does.Contain("broken.yaml"), "the console shows the problem to a person too");

        var runs = log.Where(l => l.Id == 1).ToList();
        Assert.That(runs.Select(l => l.String("Scenario")), Is.EqualTo(OnlyTiny), "only the good scenario ran, once");
        Assert.That(log.Count(l => l.Id == 3 && l.RunId == runs[0].RunId), Is.GreaterThan(0), "its invalidations are logged");
        Assert.That(log.Count(l => l.Id == 7 && l.RunId == runs[0].RunId), Is.EqualTo(1), "its summary is logged");
        Assert.That(log.Single(l => l.Id == 11).String("Reason"), Does.Contain("every scenario finished"),
            "the daemon says why it stopped");
        LogContract.AssertConforms(log);
    }

    [Test]
    [CancelAfter(60_000)]
    public void A_directory_without_a_valid_scenario_is_bad_input(CancellationToken token)
    {
        using var directory = new TempDirectory();
        ScenarioText.Write(directory, "scenarios/broken.yaml", ScenarioText.BrokenVcpus);
        var (exit, process) = HypervisorProcess.Run(directory.Path, token, "serve", "--log-dir", directory.Combine("logs"),
            $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}");
        using var _ = process;

        Assert.That(exit, Is.EqualTo(2), $"nothing to serve is bad input\n{process}");
        var lines = process.StandardError.Trim().Split('\n');
        Assert.That(lines[^1], Does.StartWith("Daemon:ScenarioDirectory").And.Contain("none valid"),
            "the last line says which setting led nowhere");
        Assert.That(process.StandardError, Does.Contain($"broken.yaml:{ScenarioText.BrokenVcpusLine}:"), "the file's problem was shown");
        Assert.That(process.StandardError, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(JsonLog.Read(directory.Combine("logs")).Count(l => l.Id == 9), Is.EqualTo(1),
            "the log file has the ScenarioInvalid event: the logger was flushed before exiting");
    }
}
