namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// The kind-specific parameters of an activity, produced by <see cref="IActivityKind.Parse"/>. Each kind derives its
/// own sealed record; the runner dispatches on the record type.
/// </summary>
public abstract record ActivityParameters;
