using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// <c>hypervisor run</c> logs through the daemon's pipeline: with <c>--log-dir</c> it writes the same JSON events
/// (same ids, names, properties, same completeness); without it, no file at all.
/// </summary>
[TestFixture]
[NonParallelizable]
public class RunLogTests
{
    /// <summary>Started, ended, invalidation, statistics, summary, pipeline statistics.</summary>
    private static readonly int[] EveryRunLogs = [1, 2, 3, 5, 7, 13];

    [Test]
    [CancelAfter(60_000)]
    public void Run_with_a_log_directory_writes_the_daemons_log_format(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = HypervisorProcess.Run(directory.Path, token, "run", "--duration", "2s", "--log-dir", directory.Combine("logs"));
        using var _ = process;
        Assert.That(exit, Is.Zero, $"quickstart runs clean\n{process}");
        Assert.That(process.StandardOutput, Does.Contain("violations: 0"), "the summary table is still printed");
        Assert.That(process.StandardOutput, Does.Not.Contain("accesses/s  "), "redirected output gets no live progress line");

        var log = JsonLog.Read(directory.Combine("logs"));
        LogContract.AssertConforms(log);
        var ids = log.Where(l => l.IsHypervisor).Select(l => l.Id!.Value).ToHashSet();
        Assert.That(ids, Is.SupersetOf(EveryRunLogs),
            "started, ended, invalidations, statistics, summary and pipeline statistics, as the daemon writes them");
        var summary = log.Single(l => l.Id == 7);
        var totals = summary.Properties.GetProperty("Summary").GetProperty("Totals");
        Assert.That(log.Count(l => l.Id == 3 && l.RunId == summary.RunId), Is.EqualTo(totals.GetProperty("Invalidations").GetInt64()),
            "every invalidation the summary counts is in the log");
    }

    [Test]
    [CancelAfter(60_000)]
    public void Run_without_a_log_directory_writes_no_log_file(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = HypervisorProcess.Run(directory.Path, token, "run", "--duration", "500ms");
        using var _ = process;
        Assert.That(exit, Is.Zero, $"quickstart runs clean\n{process}");
        Assert.That(Directory.EnumerateFileSystemEntries(directory.Path), Is.Empty, "nothing was written into the working directory");
    }
}
