using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Reclaim;

namespace Hypervisor.GuestModel.Running;

/// <summary>What an activity executor can reach: the host, the guests, the run's control and its randomness.</summary>
public sealed class ActivityContext(
    HostSystem host,
    HostMemoryManager memory,
    IReadOnlyList<GuestInstance> guests,
    RunControl control,
    Random random,
    Func<string, string?, string, HostActivityEvent> describe,
    EventSink events)
{
    public HostSystem Host { get; } = host;

    /// <summary>Reclaim, writeback, migration, KSM and the OOM reaper of this host.</summary>
    public HostMemoryManager Memory { get; } = memory;

    public IReadOnlyList<GuestInstance> Guests { get; } = guests;

    public RunControl Control { get; } = control;

    /// <summary>Seeded per activity thread.</summary>
    public Random Random { get; } = random;

    public GuestInstance? Guest(ActivitySpec spec) =>
        spec.Guest is null ? null : Guests.FirstOrDefault(g => g.Name == spec.Guest);

    /// <summary>Reports a firing's outcome to the event stream.</summary>
    public void Report(string kind, string? guest, string outcome) => events.Publish(describe(kind, guest, outcome));
}
