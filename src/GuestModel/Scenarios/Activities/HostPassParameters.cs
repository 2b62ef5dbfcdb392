namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of a host-wide pass: how many pages it targets (0 when the kind has no such parameter).</summary>
public sealed record HostPassParameters(int Pages) : ActivityParameters;
