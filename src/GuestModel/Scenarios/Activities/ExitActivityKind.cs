namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>exit</c>: the guest's VMM process exits; the notifier's release runs and the address space is torn down.</summary>
public sealed class ExitActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "exit";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new ExitParameters();
}
