using Hypervisor.Host.Experiments;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Experiments;

/// <summary>
/// An experiment's HTML report and one of its SVG charts rendered by headless Chromium, offline: the result sentence,
/// the measured table and the chart's marks are in the DOM it builds. Needs Debian's <c>chromium</c>; skipped without.
/// </summary>
[TestFixture]
[Category("Browser")]
[CancelAfter(240_000)]
public class ReportBrowserTests
{
    [Test]
    public void Headless_chromium_renders_an_experiment_report_with_its_result_tables_and_charts(CancellationToken cancellation)
    {
        HeadlessChromium.SkipUnlessInstalled();

        using var directory = new TempDirectory();
        ExperimentVerb.Execute(["invalidate-page-vs-range"], 1, directory.Path, false, "0.03", null, TextWriter.Null);
        var report = directory.Combine("invalidate-page-vs-range", "report.html");
        var dom = HeadlessChromium.DumpDom(report, directory.Combine("profile-html"), cancellation);
        var chart = HeadlessChromium.DumpDom(directory.Combine("invalidate-page-vs-range", "callbacks.svg"), directory.Combine("profile-svg"), cancellation);
        Assert.Multiple(() =>
        {
            Assert.That(dom, Does.Contain("id=\"result\"").And.Contain("A single-page operation runs 1 callback(s) under legacy2008 and 2 under modern"),
                "the one-sentence result survives rendering");
            Assert.That(dom, Does.Contain("<th>legacy2008</th>").And.Contain("<td>copy-on-write (do_wp_page)</td>"), "the measured table is in the DOM");
            Assert.That(dom, Does.Contain("<svg").And.Contain("<rect"), "the charts are inline, with their bars");
            Assert.That(dom, Does.Contain("seeds/000_84185ae498fa96f9.txt"), "the claim names its seed file");
            Assert.That(chart, Does.Contain("<svg").And.Contain("Invalidation callbacks per single-page operation"), "the SVG file renders on its own, with its title");
        });
    }
}
