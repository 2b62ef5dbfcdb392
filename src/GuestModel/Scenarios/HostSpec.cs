using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>The simulated host of a scenario (key <c>host</c>).</summary>
public sealed record HostSpec
{
    /// <summary>Host RAM in bytes; a positive multiple of <see cref="ScenarioUnits.PageSize"/>.</summary>
    public required long Ram { get; init; }

    /// <summary>Swap in bytes; a multiple of <see cref="ScenarioUnits.PageSize"/>, 0 for none.</summary>
    public long Swap { get; init; }

    /// <summary>Which MMU notifier API the host speaks to the secondary MMU.</summary>
    public NotifierProfile NotifierProfile { get; init; } = NotifierProfile.Modern;
}
