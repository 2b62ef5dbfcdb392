using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>The tables of secondary MMUs other than KVM (HMM mirrors, GRU TLBs, XPMEM exports).</summary>
internal static partial class ReportTables
{
    private static readonly string[] ClientColumns =
        ["runs", "operations", "invalidations", "refusals", "retries", "faults", "entries dropped", "callback µs", "µs/inv"];

    /// <summary>A client's row names its kind; a kind's row counts client runs instead.</summary>
    private static ReportTable Clients(string id, string title, string keyName, IReadOnlyList<ClientRow> rows, bool byKind) =>
        new(id, title, byKind ? [keyName, "client runs", .. ClientColumns[1..]] : [keyName, "kind", .. ClientColumns],
        [.. rows.Select(c => (object?[])
        [
            c.Key, .. (object?[])(byKind ? [] : [c.Kind]), c.Runs, c.Operations, c.Invalidations, c.Refusals, c.Retries, c.Faults,
            c.EntriesDropped, c.CallbackMicros, c.CallbackMicrosPerInvalidation,
        ])])
        {
            Note = rows.Count == 0
                ? "no run in these logs declared clients"
                : "from the run summaries: refusals are non-blockable starts refused (-EAGAIN), retries faults started over, callback µs the time inside invalidation callbacks",
        };
}
