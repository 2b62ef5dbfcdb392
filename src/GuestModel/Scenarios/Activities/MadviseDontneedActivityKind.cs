namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary><c>madvise-dontneed</c>: the VMM discards a range of guest RAM; the next touch faults in a zero page.</summary>
public sealed class MadviseDontneedActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "madvise-dontneed";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) => new MadviseDontneedParameters(GuestRangeReader.Read(reader));
}
