using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>The tables about runs, events and the input.</summary>
internal static partial class ReportTables
{
    private static IEnumerable<ReportTable> RunTables(AnalysisReport report)
    {
        yield return new ReportTable("runs", "Runs",
            ["run id", "scenario", "profile", "mutation", "seconds", "invalidations", "violations", "ended", "summary", "final statistics"],
            [.. report.Runs.Select(r => (object?[])
            [
                r.RunId, r.Scenario, r.Profile, r.Mutation, r.Seconds, r.Invalidations, r.ViolationEvents, r.Ended,
                r.HasSummary, r.HasFinalStatistics,
            ])]);

        var c = report.Consistency;
        yield return new ReportTable("consistency", "Log-derived totals against run summaries",
            ["run id", "scenario", "scope", "field", "from log", "from summary", "match"],
            [.. c.Runs.SelectMany(run => run.Fields.Select(f => (object?[])
            [
                run.RunId, run.Scenario, run.Scope, f.Field, f.FromLog, f.FromSummary, f.Match ? "match" : "MISMATCH",
            ]))])
        {
            Note = c.Skipped is not null ? "skipped: " + c.Skipped : ConsistencyVerdict(c),
        };

        yield return Counts("events", "Events analysed by name", "event", report.Input.EventsByName);
        yield return Counts("violations", "Violations by kind", "kind", report.Violations.ByKey);
        yield return Counts("retry-bursts", "Retry bursts by guest", "guest", report.RetryBursts.ByKey);
        yield return Counts("host-activities", "Host activities by kind/outcome", "kind/outcome", report.HostActivities.ByKey);
    }

    private static IEnumerable<ReportTable> InputTables(InputReport input)
    {
        yield return new ReportTable("inputs", "Files read", ["file", "bytes", "lines"],
            [.. input.Files.Select(f => (object?[])[f.Path, f.Bytes, f.Lines])])
        {
            Note = $"{CellText.Human(input.Lines)} lines, {CellText.Human(input.Events)} events, {CellText.Human(input.EventsAnalyzed)} analysed"
                + (input.FirstTimestamp is { } first && input.LastTimestamp is { } last
                    ? $", {CellText.Human(first)} to {CellText.Human(last)}"
                    : string.Empty),
        };

        var p = input.Problems;
        yield return Counts("skipped-lines", "Lines skipped", "reason", p.ByKind);
        yield return new ReportTable("skipped-line-samples", $"First {p.First.Count} skipped lines", ["file", "line", "reason", "detail"],
            [.. p.First.Select(s => (object?[])[s.File, s.Line.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Kind, s.Detail])]);
    }

    private static ReportTable Counts(string id, string title, string keyName, IReadOnlyDictionary<string, long> counts) =>
        new(id, title, [keyName, "count"], [.. counts.Select(p => (object?[])[p.Key, p.Value])]);
}
