using System.Text.Json;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>
/// The whole loop a user runs: <c>hypervisor run --log-dir --summary</c>, then <c>hypervisor analyze</c> on the log.
/// The statistics recomputed from the log alone must equal the totals of the run's own summary file.
/// </summary>
[TestFixture]
[NonParallelizable]
public class RunThenAnalyzeTests
{
    [Test]
    [CancelAfter(120_000)]
    public void Analyzing_a_runs_log_reproduces_the_runs_summary_totals(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (runExit, run) = HypervisorProcess.Run(directory.Path, token,
            "run", RepoScenario("race-hunt.yaml"), "--duration", "2s", "--log-dir", directory.Combine("logs"), "--summary", directory.Combine("s.json"));
        using var _ = run;
        Assert.That(runExit, Is.Zero, $"race-hunt runs clean\n{run}");

        var (analyzeExit, analyze) = HypervisorProcess.Run(directory.Path, token,
            "analyze", directory.Combine("logs"), "--format", "json", "--out", directory.Combine("report.json"));
        using var __ = analyze;
        Assert.That(analyzeExit, Is.Zero, $"analyze succeeds\n{analyze}");

        using var summary = JsonDocument.Parse(File.ReadAllText(directory.Combine("s.json")));
        using var report = JsonDocument.Parse(File.ReadAllText(directory.Combine("report.json")));
        var totals = summary.RootElement.GetProperty("totals");
        var root = report.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("invalidations").GetProperty("total").GetInt64(), Is.EqualTo(totals.GetProperty("invalidations").GetInt64()),
                "every invalidation the run counted is in the log");
            Assert.That(root.GetProperty("invalidations").GetProperty("sptesZapped").GetInt64(), Is.EqualTo(totals.GetProperty("sptesZapped").GetInt64()),
                "the zapped SPTEs add up");
            Assert.That(root.GetProperty("tlb").GetProperty("invalidationsWithFlush").GetInt64(), Is.EqualTo(totals.GetProperty("tlbFlushes").GetInt64()),
                "the TLB shootdowns add up");
            Assert.That(root.GetProperty("faults").GetProperty("faultRetries").GetInt64(), Is.EqualTo(totals.GetProperty("faultRetries").GetInt64()),
                "the fault retries add up");
            Assert.That(root.GetProperty("faults").GetProperty("faults").GetInt64(), Is.EqualTo(totals.GetProperty("faults").GetInt64()),
                "the faults add up");
            Assert.That(root.GetProperty("consistency").GetProperty("mismatches").GetInt32(), Is.Zero, "analyze's own check agrees");
            Assert.That(totals.GetProperty("invalidations").GetInt64(), Is.GreaterThan(0), "there was something to count");
        });
    }

    private static string RepoScenario(string file)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "config", "scenarios", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"config/scenarios/{file} not found above {TestContext.CurrentContext.TestDirectory}");
    }
}
