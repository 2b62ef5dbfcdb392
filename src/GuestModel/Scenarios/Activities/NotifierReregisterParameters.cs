namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>notifier-reregister</c>: the guest's MMU notifier is unregistered, then registered again.</summary>
/// <param name="Pause">Time between unregister and register.</param>
public sealed record NotifierReregisterParameters(TimeSpan Pause) : ActivityParameters
{
    /// <summary>Default of <see cref="Pause"/>.</summary>
    public static readonly TimeSpan DefaultPause = TimeSpan.FromMilliseconds(100);
}
