namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>fork</c>: the VMM forks; its private memory becomes copy-on-write in parent and child.</summary>
public sealed class ForkActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "fork";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new ForkParameters(
        reader.Duration("childLifetime", ForkParameters.DefaultChildLifetime),
        reader.Int("childWrites", ForkParameters.DefaultChildWrites, min: 0));
}
