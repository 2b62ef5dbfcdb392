using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// Command lines that used to destroy files, run something else than asked, or fail only after the whole run: each is
/// now one line on stderr and exit 2 before any work, or a clear failure.
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class HostileCommandLineTests
{
    [Test]
    public void Run_refuses_its_scenario_as_the_summary_file(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var scenario = ScenarioText.Write(directory, "s.yaml", ScenarioText.Tiny("s", duration: "300ms"));
        var before = File.ReadAllText(scenario);
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "run", scenario, "--summary", scenario);
        using var _ = tool;
        Assert.That(exit, Is.EqualTo(2), $"bad input\n{tool}");
        Assert.That(tool.StandardError.Trim(), Does.StartWith("--summary: expected an output other than the input"), "one line");
        Assert.That(tool.StandardOutput, Does.Not.Contain("running"), "refused before the run");
        Assert.That(File.ReadAllText(scenario), Is.EqualTo(before), "the scenario is not replaced");
    }

    [Test]
    public void Run_checks_an_unwritable_summary_before_the_run(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "run", "--summary", "/proc/self/nope/x.json");
        using var _ = tool;
        Assert.That(exit, Is.EqualTo(2), $"bad input, like an unwritable --log-dir\n{tool}");
        Assert.That(tool.StandardOutput, Does.Not.Contain("running"), "found before the 10 s run, not after it");
        Assert.That(tool.StandardError, Does.Not.Contain("internal error"));
    }

    [Test]
    public void Run_with_a_summary_on_a_full_device_exits_non_zero_with_a_clear_message(CancellationToken token)
    {
        Assume.That(File.Exists("/dev/full"), "needs /dev/full (Linux)");
        using var directory = new TempDirectory();
        var scenario = ScenarioText.Write(directory, "s.yaml", ScenarioText.Tiny("s", duration: "300ms"));
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "run", scenario, "--summary", "/dev/full");
        using var _ = tool;
        Assert.That(exit, Is.EqualTo(3), $"the summary did not reach the file\n{tool}");
        Assert.That(tool.StandardError.Trim(), Is.EqualTo("--summary: cannot write '/dev/full': No space left on device : '/dev/full'"));
    }

    [Test]
    public void Analyze_refuses_its_log_as_the_report_file(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var log = directory.Combine("x.jsonl");
        File.WriteAllText(log, """{"Timestamp":"2026-01-01T00:00:00Z","Level":"Information","MessageTemplate":"x","Properties":{"EventId":{"Id":10,"Name":"DaemonStarted"},"SourceContext":"Hypervisor.Daemon","ScenarioCount":1,"Scenarios":"a","LogDirectory":"/tmp"}}""" + "\n");
        var before = File.ReadAllText(log);
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "analyze", log, "--out", log);
        using var _ = tool;
        Assert.That(exit, Is.EqualTo(2), $"bad input\n{tool}");
        Assert.That(tool.StandardError, Does.Contain("--out: expected an output other than the input"));
        Assert.That(File.ReadAllText(log), Is.EqualTo(before), "the log is not replaced by the report");
    }

    [TestCase("--mutation", "", "--mutation: expected one of")]
    [TestCase("--mutation", "legacy-invalidate-after-free --profile modern", "--profile: --mutation legacy-invalidate-after-free exists only in the legacy2008 profile")]
    [TestCase("--duration", "600h", "--duration: expected a duration of at most 2147483647ms")]
    public void Run_refuses_an_option_it_would_silently_reinterpret(string option, string value, string message)
    {
        using var directory = new TempDirectory();
        var (exit, tool) = HypervisorProcess.Run(directory.Path, CancellationToken.None, ["run", option, .. value.Length == 0 ? [value] : value.Split(' ')]);
        using var _ = tool;
        Assert.That(exit, Is.EqualTo(2), $"bad input\n{tool}");
        Assert.That(tool.StandardError.Trim(), Does.StartWith(message));
    }

    [Test]
    public void Validate_prints_at_most_twenty_errors_per_file_and_counts_the_rest(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var lines = string.Join("\n", Enumerable.Range(0, 100).Select(i => $"unknown{i}: 1"));
        var file = ScenarioText.Write(directory, "many.yaml", lines + "\n");
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "validate", file);
        using var _ = tool;
        var printed = tool.StandardError.Trim().Split('\n');
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(printed, Has.Length.EqualTo(21), "twenty errors and one count line");
        Assert.That(printed[^1], Does.Match(@"many\.yaml: \.\.\. and \d+ more errors"));
    }
}
