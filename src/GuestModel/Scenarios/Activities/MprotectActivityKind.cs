namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>mprotect</c>: a range of guest RAM becomes read-only for a while, then read-write again.</summary>
public sealed class MprotectActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "mprotect";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new MprotectParameters(
        GuestRangeReader.Read(reader),
        reader.Duration("readOnlyFor", MprotectParameters.DefaultReadOnlyFor));
}
