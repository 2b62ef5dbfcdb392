using System.Net;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>
/// One self-contained HTML file: inline CSS, inline SVG charts (invalidation rate and retry rate over time, the size
/// and zap histograms, duration percentiles), headline figures and every report table. No script and no external
/// resource, so it opens offline and can be mailed or attached to an issue.
/// </summary>
internal static class HtmlRenderer
{
    private const string Style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}p.note{color:#5a6275;margin:2px 0 8px}
        .cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #d8dce5;border-radius:8px;padding:10px 14px;min-width:150px}
        .card .v{font-size:20px;font-weight:600}.card .k{color:#5a6275;font-size:12px}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
        svg{width:100%;height:auto;border:1px solid #e3e6ee;border-radius:8px;background:#fff}
        svg .title{font-weight:600;font-size:13px}svg text{font-size:11px;fill:#3a4256}
        svg .xl{text-anchor:middle}svg .yl{text-anchor:end}svg .unit{text-anchor:end;fill:#7a8296}
        svg .bar{fill:#4f7fd9}svg .bar:hover{fill:#2f5fb9}svg .line{fill:none;stroke:#d9534f;stroke-width:1.6}
        svg .area{fill:#d9534f22}svg .dot{fill:#d9534f}svg .grid{stroke:#eceef3}svg .axis{stroke:#9aa1b2}
        table{border-collapse:collapse;margin:4px 0 8px;font-variant-numeric:tabular-nums}
        th,td{border-bottom:1px solid #e3e6ee;padding:3px 10px;text-align:right}th{background:#f4f6fa}
        th.t,td.t{text-align:left}td.bad{color:#b52b27;font-weight:600}
        """;

    public static void Write(TextWriter w, string title, AnalysisReport report, IReadOnlyList<ReportTable> tables)
    {
        w.WriteLine("<!DOCTYPE html>");
        w.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        w.WriteLine($"<title>{E(title)}</title><style>{Style}</style></head><body>");
        w.WriteLine($"<h1>{E(title)}</h1>");
        w.WriteLine($"<p class=\"note\">{E(Describe(report.Input))}</p>");
        WriteCards(w, report);
        WriteCharts(w, report);
        foreach (var table in tables)
        {
            WriteTable(w, table);
        }

        w.WriteLine("</body></html>");
    }

    private static string Describe(InputReport input) =>
        $"{input.Files.Count} file(s), {input.Lines:N0} lines, {input.EventsAnalyzed:N0} events analysed"
        + (string.IsNullOrEmpty(input.Filter) ? string.Empty : $"; filters: {input.Filter}")
        + (input.Problems.Total == 0 ? string.Empty : $"; {input.Problems.Total:N0} lines skipped");

    private static void WriteCards(TextWriter w, AnalysisReport r)
    {
        (string Key, string Value)[] cards =
        [
            ("invalidations", CellText.Human(r.Invalidations.Total)),
            ("pages per invalidation", CellText.Human(r.Invalidations.PagesPerInvalidation)),
            ("spurious (zapped nothing)", CellText.Human(new Share(r.Invalidations.NothingZappedShare))),
            ("duration p99", CellText.Human(r.Invalidations.Duration.P99Micros) + " µs"),
            ("retries per fault", CellText.Human(new Share(r.Faults.RetriesPerFault))),
            ("violations", CellText.Human(r.Violations.Total)),
            ("run summaries", ReportTables.ConsistencyVerdict(r.Consistency)),
        ];
        w.WriteLine("<div class=\"cards\">");
        foreach (var (key, value) in cards)
        {
            w.WriteLine($"<div class=\"card\"><div class=\"v\">{E(value)}</div><div class=\"k\">{E(key)}</div></div>");
        }

        w.WriteLine("</div>");
    }

    private static void WriteCharts(TextWriter w, AnalysisReport r)
    {
        var points = r.Timeline.Points;
        var unit = r.Timeline.BucketSeconds == 1 ? "per second" : $"per second ({r.Timeline.BucketSeconds} s buckets)";
        var d = r.Invalidations.Duration;
        w.WriteLine("<div class=\"charts\">");
        var invalidations = points.Select(p => ((double)p.StartSeconds, p.InvalidationsPerSecond)).ToList();
        var retries = points.Select(p => ((double)p.StartSeconds, p.RetriesPerSecond)).ToList();
        w.WriteLine(SvgCharts.Line("Invalidation rate over time", invalidations, "invalidations " + unit, r.Timeline.BucketSeconds));
        w.WriteLine(SvgCharts.Line("Fault retry rate over time", retries, "retries " + unit, r.Timeline.BucketSeconds));
        w.WriteLine(SvgCharts.Bars("Pages per invalidation", Counts(r.Invalidations.PagesHistogram), "invalidations"));
        w.WriteLine(SvgCharts.Bars("SPTEs zapped per invalidation", Counts(r.Invalidations.SptesZappedHistogram), "invalidations"));
        w.WriteLine(SvgCharts.LogBars("Invalidation duration percentiles",
            [("p50", d.P50Micros), ("p90", d.P90Micros), ("p99", d.P99Micros), ("max", d.MaxMicros)], "µs"));
        if (r.ProfileComparison is { } comparison)
        {
            var rates = comparison.Select(c => (c.Profile, c.InvalidationsPerSecond)).ToList();
            w.WriteLine(SvgCharts.Bars("Invalidations per second by profile", rates, "invalidations/s"));
        }

        w.WriteLine("</div>");
    }

    private static void WriteTable(TextWriter w, ReportTable table)
    {
        w.WriteLine($"<h2 id=\"{E(table.Id)}\">{E(table.Title)}</h2>");
        if (table.Note is { } note)
        {
            w.WriteLine($"<p class=\"note\">{E(note)}</p>");
        }

        if (table.Rows.Count == 0)
        {
            w.WriteLine("<p class=\"note\">none</p>");
            return;
        }

        var align = table.Columns.Select((_, i) => table.IsNumeric(i) ? string.Empty : " class=\"t\"").ToArray();
        w.Write("<table><thead><tr>");
        for (var i = 0; i < table.Columns.Count; i++)
        {
            w.Write($"<th{align[i]}>{E(table.Columns[i])}</th>");
        }

        w.WriteLine("</tr></thead><tbody>");
        foreach (var row in table.Rows)
        {
            w.Write("<tr>");
            for (var i = 0; i < row.Count; i++)
            {
                var text = CellText.Human(row[i]);
                w.Write(text == "MISMATCH" ? $"<td class=\"t bad\">{E(text)}</td>" : $"<td{align[i]}>{E(text)}</td>");
            }

            w.WriteLine("</tr>");
        }

        w.WriteLine("</tbody></table>");
    }

    private static List<(string, double)> Counts(IReadOnlyList<HistogramBucket> buckets) =>
        [.. buckets.Select(b => (b.Label, (double)b.Count))];

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
