namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>mprotect</c>: the VMM makes a range read-only for a while, then read-write again.</summary>
/// <param name="Range">The guest-physical range protected.</param>
/// <param name="ReadOnlyFor">How long the range stays read-only.</param>
public sealed record MprotectParameters(GuestRange Range, TimeSpan ReadOnlyFor) : ActivityParameters, IRangeParameters
{
    /// <summary>Default of <see cref="ReadOnlyFor"/>.</summary>
    public static readonly TimeSpan DefaultReadOnlyFor = TimeSpan.FromMilliseconds(500);
}
