using Hypervisor.Host.Analyze;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Tests.Analyze.Support;
using HeadlessChromium = Hypervisor.Host.Tests.Support.HeadlessChromium;
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
    [Test]
    public void Headless_chromium_renders_the_report_with_its_numbers_and_charts(CancellationToken cancellation)
    {
        HeadlessChromium.SkipUnlessInstalled();

        using var directory = new TempDirectory();
        var log = LogFiles.Write(directory, log => KnownLog.Write(log));
        var html = directory.File("report.html");
        ReportWriter.WriteFile(LogAnalyzer.Analyze([log], AnalyzeFilter.None), ReportFormat.Html, html);

        var dom = HeadlessChromium.DumpDom(html, directory.File("profile"), cancellation);
        Assert.Multiple(() =>
        {
            Assert.That(dom, Does.Contain("<div class=\"v\">100</div>"), "the invalidation total survives rendering");
            Assert.That(dom, Does.Contain("<svg"), "the charts are in the DOM");
            Assert.That(dom, Does.Contain("<td class=\"t\">munmap</td><td>60</td>"), "a breakdown row is in the DOM");
            Assert.That(dom, Does.Contain("Notifier").Or.Contain("Invalidation rate over time"), "the chart titles are there");
        });
    }
}
