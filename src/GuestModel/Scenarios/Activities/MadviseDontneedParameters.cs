namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>madvise-dontneed</c>: the VMM drops the pages of a range (<c>MADV_DONTNEED</c>).</summary>
/// <param name="Range">The guest-physical range dropped.</param>
public sealed record MadviseDontneedParameters(GuestRange Range) : ActivityParameters, IRangeParameters;
