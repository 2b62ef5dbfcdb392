using System.Text.Json;
using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>The counters of a <c>RunSummary</c> that the log alone can recompute.</summary>
internal sealed record SummaryCounts(long Invalidations, long SptesZapped, long TlbFlushes, long FaultRetries)
{
    /// <summary>Reads them from <c>Summary.Totals</c>, or from the <c>Summary.Guests</c> entry named <paramref name="guest"/>.</summary>
    public static SummaryCounts? From(JsonElement summary, string? guest)
    {
        if (summary.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (guest is null)
        {
            return summary.TryGetProperty("Totals", out var totals) ? Read(totals) : null;
        }

        if (!summary.TryGetProperty("Guests", out var guests) || guests.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var entry in guests.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("Name", out var name)
                && string.Equals(JsonValues.GetText(name), guest, StringComparison.OrdinalIgnoreCase))
            {
                return Read(entry);
            }
        }

        return null;
    }

    private static SummaryCounts? Read(JsonElement counters) => counters.ValueKind != JsonValueKind.Object ? null : new(
        Get(counters, "Invalidations"), Get(counters, "SptesZapped"), Get(counters, "TlbFlushes"), Get(counters, "FaultRetries"));

    private static long Get(JsonElement counters, string name) =>
        counters.TryGetProperty(name, out var value) && JsonValues.TryGetInt64(value, out var result) ? result : 0;
}
