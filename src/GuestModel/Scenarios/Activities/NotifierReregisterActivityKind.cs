namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>notifier-reregister</c>: the guest's MMU notifier is unregistered and registered again after a pause.</summary>
public sealed class NotifierReregisterActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "notifier-reregister";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) =>
        new NotifierReregisterParameters(reader.Duration("pause", NotifierReregisterParameters.DefaultPause));
}
