using System.Text.RegularExpressions;
using Hypervisor.Host.Bench;
using Hypervisor.Host.Cli;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Bench;

/// <summary>
/// <c>hypervisor bench</c> on a tiny load: it completes, loses no event, and prints the lines the README's figures come
/// from. (What it measures is not asserted: speed is never a unit test's business.)
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class PipelineBenchmarkTests
{
    [Test]
    public void A_short_bench_prints_its_throughput_slowdown_and_cpu_lines_and_writes_every_event()
    {
        using var directory = new TempDirectory();
        using var output = new StringWriter();
        var exit = PipelineBenchmark.Run(output, events: 2_000, producers: 2, RepositoryPaths.DefaultScenario, "300ms", pairs: 1,
            logDir: directory.Path);
        var text = output.ToString();
        var invalidations = Directory.GetFiles(Path.Combine(directory.Path, "throughput"))
            .SelectMany(File.ReadLines).Count(line => line.Contains("\"@i\":3,", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(ExitCodes.Clean), "a clean run");
            Assert.That(text, Does.Match(@"throughput: [\d,]+ events/s"), "the throughput line");
            Assert.That(text, Does.Match(@"\d+ bytes/event"), "the size of an event on disk");
            Assert.That(text, Does.Match(@"slowdown of the median: -?[\d.]+%"), "the slowdown line");
            Assert.That(text, Does.Match(@"CPU per access \(whole process\): median [\d.]+ ns"), "the CPU line");
            Assert.That(invalidations, Is.EqualTo(2_000), "every synthetic invalidation reached the file");
        });
    }
}
