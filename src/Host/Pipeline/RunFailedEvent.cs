using Hypervisor.GuestModel.Events;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// A run of <paramref name="Scenario"/> threw: a simulator bug. Sent through the channel behind the run's own events;
/// closes the run in the consumer (no summary follows).
/// </summary>
internal sealed record RunFailedEvent(string Scenario, TimeSpan Elapsed, Exception Error) : SimulationEvent(Scenario, Elapsed);
