namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>The OOM reaper takes the named guest's VMM as its victim (every other address space is protected).</summary>
public sealed class OomActivityKind : IActivityKind
{
    public string Name => "oom";

    public ActivityParameters Parse(ParameterReader reader) => new HostPassParameters(0);
}
