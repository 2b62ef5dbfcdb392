using Hypervisor.GuestModel.Events;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// The daemon's supervisor decided to start <paramref name="Scenario"/> again. Sent through the channel, behind the
/// ended run's own events, so the consumer logs it with that run's id.
/// </summary>
internal sealed record RunRestartingEvent(string Scenario, TimeSpan Elapsed, string Reason) : SimulationEvent(Scenario, Elapsed);
