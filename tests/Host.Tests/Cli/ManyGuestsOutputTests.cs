using System.Globalization;
using System.Text;
using System.Text.Json;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// A run of many guests prints a table a reader can use, and quickly: the first rows and the total, with every guest
/// in the summary JSON (a thousand rows took 1.4 s to lay out, after the run had ended).
/// </summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(120_000)]
public class ManyGuestsOutputTests
{
    [Test]
    public void The_table_shows_the_first_guests_and_the_summary_has_them_all(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var text = new StringBuilder("name: many\nseed: 1\nduration: 200ms\nhost:\n  ram: 256MiB\nguests:\n");
        for (var i = 0; i < 40; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {{ name: g{i}, memory: 2MiB, vcpus: 1, workload: {{ pattern: uniform, writeRatio: 0.3 }} }}\n");
        }

        var scenario = ScenarioText.Write(directory, "many.yaml", text.ToString());
        var summary = directory.Combine("summary.json");
        var (exit, tool) = HypervisorProcess.Run(directory.Path, token, "run", scenario, "--summary", summary);
        using var _ = tool;
        Assert.That(exit, Is.Zero, $"a clean run\n{tool}");
        var rows = tool.StandardOutput.Split('\n').Select(l => l.Split('│', StringSplitOptions.TrimEntries)).Where(c => c.Length > 2).Select(c => c[1]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rows, Does.Contain("g0").And.Contain("g31").And.Contain("total"), "the first 32 guests and the total");
            Assert.That(rows, Does.Not.Contain("g32"), "not the rest");
            Assert.That(tool.StandardOutput, Does.Contain("32 of 40 guests shown"), "the reader is told");
        });
        using var json = JsonDocument.Parse(File.ReadAllText(summary));
        Assert.That(json.RootElement.GetProperty("guests").GetArrayLength(), Is.EqualTo(40), "the summary has every guest");
    }
}
