using System.Globalization;
using System.Net;
using System.Text;

namespace Hypervisor.Host.Experiments.Output;

/// <summary>
/// Writes one experiment's results into its directory: <c>report.md</c> (the report, charts linked as images),
/// <c>report.html</c> (the same, charts inline, for a browser), <c>measurements.csv</c> (every measurement) and one
/// SVG file per chart; and <c>section.md</c>, the part of docs/experiments.md this run produced.
/// </summary>
internal static class ExperimentReportWriter
{
    public const string CsvHeader = "experiment,variant,metric,unit,x,seed,sample,value";

    public static void Write(string directory, Experiment experiment, ExperimentOutcome outcome, ExperimentContext context, RunInfo run)
    {
        Directory.CreateDirectory(directory);
        foreach (var chart in outcome.Charts)
        {
            File.WriteAllText(Path.Combine(directory, chart.FileName), SvgChartWriter.Render(chart));
        }

        File.WriteAllText(Path.Combine(directory, "measurements.csv"), Csv(experiment, context.Measurements));
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(experiment, outcome, run));
        File.WriteAllText(Path.Combine(directory, "report.html"), Html(experiment, outcome, run));
        File.WriteAllText(Path.Combine(directory, "section.md"), Section(experiment, outcome, run));
    }

    public static string Csv(Experiment experiment, IEnumerable<Measurement> measurements)
    {
        var csv = new StringBuilder(CsvHeader).Append('\n');
        foreach (var m in measurements)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{experiment.Name},{Quote(m.Variant)},{Quote(m.Metric)},{Quote(m.Unit)},{m.X:R},{m.Seed},{m.Sample},{m.Value:R}\n");
        }

        return csv.ToString();
    }

    public static string Markdown(Experiment experiment, ExperimentOutcome outcome, RunInfo run)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {experiment.Title} (`{experiment.Name}`)\n\n");
        md.Append(CultureInfo.InvariantCulture, $"**Result.** {outcome.Result}\n\n");
        AppendClaims(md, experiment);
        md.Append("## Method\n\n").Append(experiment.Method.Trim()).Append("\n\n");
        md.Append("## Measurements\n\nMedians with their 95% confidence intervals (percentile bootstrap) in parentheses.\n\n");
        foreach (var table in outcome.Tables)
        {
            AppendTable(md, table);
        }

        foreach (var chart in outcome.Charts)
        {
            md.Append(CultureInfo.InvariantCulture, $"![{chart.Title}]({chart.FileName})\n\n");
        }

        md.Append("## Reproduce\n\n");
        AppendRun(md, run);
        md.Append("Every measurement is in `measurements.csv` (").Append(CsvHeader).Append(").\n");
        return md.ToString();
    }

    /// <summary>The experiment's part of docs/experiments.md: claims, the experiment, the measured tables, the verdict.</summary>
    public static string Section(Experiment experiment, ExperimentOutcome outcome, RunInfo run)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"## {experiment.Title} (`{experiment.Name}`)\n\n");
        AppendClaims(md, experiment);
        md.Append("**Experiment.** ").Append(experiment.Method.Trim()).Append("\n\n");
        foreach (var table in outcome.Tables)
        {
            AppendTable(md, table);
        }

        md.Append(CultureInfo.InvariantCulture, $"**Result.** {outcome.Result}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"**Verdict.** {outcome.Verdict}\n\n");
        AppendRun(md, run);
        return md.ToString();
    }

    public static string Html(Experiment experiment, ExperimentOutcome outcome, RunInfo run)
    {
        var html = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Append(CultureInfo.InvariantCulture, $"<title>{E(experiment.Title)}</title>")
            .Append("<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}")
            .Append("blockquote{color:#555;border-left:4px solid #ccc;margin-left:0;padding-left:1em}.result{font-size:1.1em}</style></head><body>");
        html.Append(CultureInfo.InvariantCulture, $"<h1>{E(experiment.Title)} (<code>{E(experiment.Name)}</code>)</h1>")
            .Append(CultureInfo.InvariantCulture, $"<p class=\"result\" id=\"result\"><b>Result.</b> {E(outcome.Result)}</p><h2>Claims</h2>");
        foreach (var claim in experiment.Claims)
        {
            html.Append(CultureInfo.InvariantCulture, $"<blockquote>“{E(claim.Quote)}” — {E(claim.Author)}, <code>seeds/{E(claim.SeedFile)}</code></blockquote>");
        }

        html.Append(CultureInfo.InvariantCulture, $"<h2>Method</h2><p>{Code(E(experiment.Method.Trim()))}</p><h2>Measurements</h2>");
        foreach (var table in outcome.Tables)
        {
            html.Append(CultureInfo.InvariantCulture, $"<table><caption>{E(table.Caption)}</caption><tr>");
            html.AppendJoin(string.Empty, table.Columns.Select(c => $"<th>{E(c)}</th>")).Append("</tr>");
            foreach (var row in table.Rows)
            {
                html.Append("<tr>").AppendJoin(string.Empty, row.Select(c => $"<td>{E(c)}</td>")).Append("</tr>");
            }

            html.Append("</table>");
        }

        foreach (var chart in outcome.Charts)
        {
            html.Append("<figure>").Append(SvgChartWriter.Render(chart)).Append("</figure>");
        }

        html.Append(CultureInfo.InvariantCulture, $"<h2>Reproduce</h2><pre>{E(run.Command)}</pre><p>seeds {E(string.Join(", ", run.Seeds))}; ")
            .Append(CultureInfo.InvariantCulture, $"{E(RunInfo.Machine)}; version {E(RunInfo.Version)}; {run.Elapsed.TotalSeconds:0} s</p></body></html>");
        return html.ToString();
    }

    private static void AppendClaims(StringBuilder md, Experiment experiment)
    {
        foreach (var claim in experiment.Claims)
        {
            md.Append(CultureInfo.InvariantCulture, $"> “{claim.Quote}” — {claim.Author}, `seeds/{claim.SeedFile}`\n\n");
        }
    }

    private static void AppendTable(StringBuilder md, ResultTable table)
    {
        md.Append(CultureInfo.InvariantCulture, $"{table.Caption}\n\n| {string.Join(" | ", table.Columns)} |\n|{string.Concat(table.Columns.Select(_ => "---|"))}\n");
        foreach (var row in table.Rows)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |\n");
        }

        md.Append('\n');
    }

    private static void AppendRun(StringBuilder md, RunInfo run)
    {
        md.Append(CultureInfo.InvariantCulture, $"`{run.Command}` — seeds {string.Join(", ", run.Seeds)}")
            .Append(run.Scale == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", scale {run.Scale}"))
            .Append(CultureInfo.InvariantCulture, $"; {RunInfo.Machine}; version {RunInfo.Version}; {run.Started:yyyy-MM-dd HH:mm} UTC, {run.Elapsed.TotalSeconds:0} s.\n\n");
    }

    private static string Quote(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal)
        ? $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal)}\""
        : s;

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Markdown's <c>`code`</c> spans as HTML, in text already encoded.</summary>
    private static string Code(string encoded) => System.Text.RegularExpressions.Regex.Replace(encoded, "`([^`]+)`", "<code>$1</code>");
}
