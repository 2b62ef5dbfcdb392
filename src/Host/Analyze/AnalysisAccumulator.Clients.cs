using System.Text.Json;
using Hypervisor.Host.Analyze.Aggregation;
using Hypervisor.Host.Analyze.Input;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze;

/// <summary>Secondary MMUs other than KVM: their counters come from the run summaries (<c>Summary.Clients</c>).</summary>
internal sealed partial class AnalysisAccumulator
{
    private readonly Dictionary<string, ClientCounts> _byClient = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClientCounts> _byClientKind = new(StringComparer.Ordinal);

    /// <summary>Adds the summary's clients; with a guest filter, only the clients mirroring that guest's memory.</summary>
    private void AddClients(JsonElement summary)
    {
        if (!summary.TryGetProperty("Clients", out var clients) || clients.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var client in clients.EnumerateArray())
        {
            if (client.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            string Text(string name) => client.TryGetProperty(name, out var v) ? JsonValues.GetText(v) ?? InvalidationRecord.Missing : InvalidationRecord.Missing;
            if (_filter.Guest is { } guest && !string.Equals(Text("Guest"), guest, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Counts(_byClient, Text("Name")).Add(client);
            Counts(_byClientKind, Text("Kind")).Add(client);
        }
    }

    private static ClientCounts Counts(Dictionary<string, ClientCounts> map, string key)
    {
        if (!map.TryGetValue(key, out var counts))
        {
            counts = new ClientCounts();
            map[key] = counts;
        }

        return counts;
    }

    /// <summary>Rows by invalidations, most first; a kind's row carries its own key as kind.</summary>
    private static List<ClientRow> ClientRows(Dictionary<string, ClientCounts> map, bool byKind) =>
    [
        .. map.OrderByDescending(p => p.Value.Invalidations).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => new ClientRow(
            p.Key, byKind ? p.Key : p.Value.Kind ?? InvalidationRecord.Missing, p.Value.Runs, p.Value.Operations, p.Value.Invalidations,
            p.Value.Refusals, p.Value.Retries, p.Value.Faults, p.Value.EntriesDropped, Math.Round(p.Value.CallbackMicros, 1),
            Math.Round(Ratio.Of(p.Value.CallbackMicros, p.Value.Invalidations), 3))),
    ];
}
