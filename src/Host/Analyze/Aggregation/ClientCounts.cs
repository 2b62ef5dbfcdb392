using System.Text.Json;
using Hypervisor.GuestModel.Clients;
using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// The counters of secondary MMUs other than KVM (a run summary's <c>Clients</c>), summed over the runs that report
/// one client name or one client kind.
/// </summary>
internal sealed class ClientCounts
{
    public string? Kind { get; private set; }

    public long Runs { get; private set; }

    public long Operations { get; private set; }

    public long Invalidations { get; private set; }

    public long Refusals { get; private set; }

    public long Retries { get; private set; }

    public long Faults { get; private set; }

    public long EntriesDropped { get; private set; }

    public double CallbackMicros { get; private set; }

    /// <summary>Adds one entry of <c>Summary.Clients</c> (a <see cref="ClientSummary"/>; missing counters count as zero).</summary>
    public void Add(JsonElement client)
    {
        Kind ??= client.TryGetProperty(nameof(ClientSummary.Kind), out var kind) ? JsonValues.GetText(kind) : null;
        Runs++;
        Operations += Get(client, nameof(ClientSummary.Operations));
        Invalidations += Get(client, nameof(ClientSummary.Invalidations));
        Refusals += Get(client, nameof(ClientSummary.Refusals));
        Retries += Get(client, nameof(ClientSummary.Retries));
        Faults += Get(client, nameof(ClientSummary.Faults));
        EntriesDropped += Get(client, nameof(ClientSummary.EntriesDropped));
        CallbackMicros += client.TryGetProperty(nameof(ClientSummary.CallbackMicros), out var micros) && JsonValues.TryGetDouble(micros, out var value) ? value : 0;
    }

    private static long Get(JsonElement counters, string name) =>
        counters.TryGetProperty(name, out var value) && JsonValues.TryGetInt64(value, out var result) ? result : 0;
}
