namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>munmap</c>: the VMM unmaps part of guest RAM for good; guest accesses there exit to the VMM (-EFAULT).</summary>
public sealed class MunmapActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "munmap";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new MunmapParameters(GuestRangeReader.Read(reader));
}

/// <summary>Parameters of <c>munmap</c>.</summary>
/// <param name="Range">The guest-physical range unmapped.</param>
public sealed record MunmapParameters(GuestRange Range) : ActivityParameters, IRangeParameters;
