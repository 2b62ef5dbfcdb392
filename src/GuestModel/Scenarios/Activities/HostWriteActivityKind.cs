namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>host-write</c>: the VMM writes into guest RAM through its own mapping, as device emulation does.</summary>
public sealed class HostWriteActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "host-write";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new HostWriteParameters(
        GuestRangeReader.Read(reader),
        reader.Int("writes", HostWriteParameters.DefaultWrites, min: 1),
        reader.Enum("via", HostWriteVia.Mapping) == HostWriteVia.File);

    /// <summary>The values of <c>via</c>.</summary>
    private enum HostWriteVia
    {
        Mapping,
        File,
    }
}
