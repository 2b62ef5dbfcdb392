namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>munmap-remap</c>: part of guest RAM is unmapped (invalidating it) and mapped again after a gap.</summary>
public sealed class MunmapRemapActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "munmap-remap";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) =>
        new MunmapRemapParameters(GuestRangeReader.Read(reader), reader.Duration("gap", TimeSpan.Zero));
}
