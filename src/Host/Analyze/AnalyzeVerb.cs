using System.CommandLine;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Analyze.Report;
using Hypervisor.Host.Cli;
using Spectre.Console;

namespace Hypervisor.Host.Analyze;

/// <summary>
/// <c>hypervisor analyze LOG... [--format table|json|csv|markdown|html] [--out FILE] [--guest NAME]
/// [--scenario NAME] [--since T] [--until T]</c>: invalidation statistics recomputed from JSON-lines logs.
/// Exit codes: 0 a report was produced; 1 the logs record violations or disagree with a run summary;
/// 2 bad input (a missing file, no events, a bad option).
/// </summary>
internal static class AnalyzeVerb
{
    public static Command Create()
    {
        var logs = new Argument<string[]>("LOG")
        {
            Description = "Log files, or directories meaning their *.json, *.jsonl and *.log files (read in name order, so rolled files stay in order).",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string?>("--format", "-f")
        {
            Description = "table (default), json, csv, markdown or html.",
            HelpName = "table|json|csv|markdown|html",
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Write the report to this file (atomically) instead of stdout.",
            HelpName = "FILE",
        };
        var guest = new Option<string?>("--guest") { Description = "Only this guest's events.", HelpName = "NAME" };
        var scenario = new Option<string?>("--scenario") { Description = "Only this scenario's events.", HelpName = "NAME" };
        var since = new Option<string?>("--since")
        {
            Description = "Only events at or after T: an ISO-8601 timestamp, or a duration from the first event (30s, 5m).",
            HelpName = "T",
        };
        var until = new Option<string?>("--until") { Description = "Only events before T (same forms as --since).", HelpName = "T" };
        var command = new Command("analyze", "Invalidation statistics from JSON-lines logs.") { logs, format, output, guest, scenario, since, until };
        command.SetAction(parse => Execute(
            parse.GetValue(logs) ?? [], parse.GetValue(format), parse.GetValue(output), parse.GetValue(guest),
            parse.GetValue(scenario), parse.GetValue(since), parse.GetValue(until), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Runs the verb with its options as text; the testable body of the command.</summary>
    public static int Execute(IReadOnlyList<string> logs, string? format, string? output, string? guest, string? scenario,
        string? since, string? until, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var chosen = ParseFormat(format);
            var filter = new AnalyzeFilter
            {
                Guest = guest,
                Scenario = scenario,
                Since = since is null ? null : TimeBound.Parse(since, "--since"),
                Until = until is null ? null : TimeBound.Parse(until, "--until"),
            };
            var report = LogAnalyzer.Analyze(logs, filter);
            Write(report, chosen, output, logs, stdout, stderr);
            return Verdict(report, stderr);
        }
        catch (Exception e) when (e is LogInputException or IOException or UnauthorizedAccessException or Configuration.BadInputException)
        {
            // A missing or unreadable log, or an unwritable --out: bad input, one line, no stack trace.
            stderr.WriteLine($"analyze: {e.Message}");
            return ExitCodes.BadInput;
        }
    }

    private static void Write(AnalysisReport report, ReportFormat format, string? output, IReadOnlyList<string> logs, TextWriter stdout, TextWriter stderr)
    {
        if (output is null)
        {
            var terminal = format == ReportFormat.Table && ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected
                ? AnsiConsole.Console
                : null;
            ReportWriter.Write(report, format, stdout, terminal);
            return;
        }

        Cli.OutputFile.Write("--out", output, Input.LogFileSet.Expand(logs), writer => ReportWriter.Write(report, format, writer));
        stderr.WriteLine($"analyze: wrote {output}");
    }

    private static int Verdict(AnalysisReport report, TextWriter stderr)
    {
        if (report.Input.Problems.Total > 0)
        {
            var first = report.Input.Problems.First[0];
            stderr.WriteLine($"analyze: {report.Input.Problems.Total} lines skipped (first: {first.File}:{first.Line}: {first.Kind})");
        }

        var mismatches = report.Consistency.Mismatches;
        if (mismatches > 0)
        {
            stderr.WriteLine($"analyze: {mismatches} run(s) disagree with their run summary");
        }

        return mismatches > 0 || report.Violations.Total > 0 ? ExitCodes.Violations : ExitCodes.Clean;
    }

    private static ReportFormat ParseFormat(string? format) => format?.ToLowerInvariant() switch
    {
        null or "table" => ReportFormat.Table,
        "json" => ReportFormat.Json,
        "csv" => ReportFormat.Csv,
        "markdown" or "md" => ReportFormat.Markdown,
        "html" => ReportFormat.Html,
        _ => throw new LogInputException($"--format: expected table, json, csv, markdown or html, got '{format}'"),
    };
}
