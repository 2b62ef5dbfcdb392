using System.Diagnostics;
using System.Text.Json;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// SIGTERM at any moment of a <c>run</c>'s start-up: from <c>Main</c>'s first line on it stops the run gracefully (the
/// summary printed and written, exit 0) instead of being lost or waiting for the duration; earlier, while the .NET
/// runtime itself starts, it ends the process before a byte of output exists. Either way: no stack trace, no partial
/// output.
/// </summary>
[TestFixture]
[NonParallelizable]
public class RunEarlyStopTests
{
    [TestCase(0)]
    [TestCase(30)]
    [TestCase(80)]
    [TestCase(150)]
    [TestCase(300)]
    [TestCase(800)]
    [CancelAfter(120_000)]
    public void A_stop_during_start_up_ends_the_run_cleanly(int delayMs, CancellationToken token)
    {
        using var directory = new TempDirectory();
        var scenario = ScenarioText.Write(directory, "tiny.yaml", ScenarioText.Tiny("tiny", duration: "60s"));
        var summary = directory.Combine("summary.json");
        var logs = directory.Combine("logs");
        var clock = Stopwatch.StartNew();
        using var tool = HypervisorProcess.Start(directory.Path, null, "run", scenario, "--summary", summary, "--log-dir", logs);
        Thread.Sleep(delayMs);
        tool.Terminate();
        var exit = tool.WaitForExit(token);
        var logged = Directory.Exists(logs) && Directory.EnumerateFiles(logs).Any(f => new FileInfo(f).Length > 0);

        Assert.That(tool.StandardError, Does.Not.Contain("   at "), $"no stack trace\n{tool}");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(50)), $"the stop is honoured, not the 60 s duration\n{tool}");
        if (exit == 143)
        {
            // Only a signal that beats the runtime to Main: then nothing at all was written.
            Assert.Multiple(() =>
            {
                Assert.That(tool.StandardOutput, Is.Empty, $"killed before any output\n{tool}");
                Assert.That(File.Exists(summary), Is.False, "no summary file, not even an empty one");
                Assert.That(logged, Is.False, "no log file with content");
            });
            return;
        }

        Assert.That(exit, Is.Zero, $"a stop is a graceful end of the run\n{tool}");
        using var json = JsonDocument.Parse(File.ReadAllText(summary));
        Assert.That(json.RootElement.GetProperty("scenario").GetString(), Is.EqualTo("tiny"), "the summary file is complete");
    }
}
