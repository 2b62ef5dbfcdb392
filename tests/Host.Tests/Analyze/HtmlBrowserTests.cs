using System.Diagnostics;
using Hypervisor.Host.Analyze;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>
/// The HTML report rendered by a real browser, headless and offline: the numbers are in the DOM it builds. Needs
/// Debian's <c>chromium</c> (<c>apt-get install -y chromium</c>); skipped when it is not installed.
/// </summary>
[TestFixture]
[Category("Browser")]
[CancelAfter(120_000)]
public class HtmlBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Test]
    public void Headless_chromium_renders_the_report_with_its_numbers_and_charts(CancellationToken cancellation)
    {
        if (!File.Exists(Chromium))
        {
            Assert.Ignore($"{Chromium} is not installed (apt-get install -y chromium); the browser check is skipped");
        }

        using var directory = new TempDirectory();
        var log = LogFiles.Write(directory, log => KnownLog.Write(log));
        var html = directory.File("report.html");
        ReportWriter.WriteFile(LogAnalyzer.Analyze([log], AnalyzeFilter.None), ReportFormat.Html, html);

        var dom = DumpDom(html, directory.File("profile"), cancellation);
        Assert.Multiple(() =>
        {
            Assert.That(dom, Does.Contain("<div class=\"v\">100</div>"), "the invalidation total survives rendering");
            Assert.That(dom, Does.Contain("<svg"), "the charts are in the DOM");
            Assert.That(dom, Does.Contain("<td class=\"t\">munmap</td><td>60</td>"), "a breakdown row is in the DOM");
            Assert.That(dom, Does.Contain("Notifier").Or.Contain("Invalidation rate over time"), "the chart titles are there");
        });
    }

    private static string DumpDom(string html, string profile, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", $"--user-data-dir={profile}",
                     "--dump-dom", new Uri(html).AbsoluteUri,
                 })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 90 s");
        }

        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"chromium exits cleanly; stderr: {stderr.Result}");
        return stdout.Result;
    }
}
