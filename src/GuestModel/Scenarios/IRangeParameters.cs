namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Parameters of an activity kind that acts on a range of guest memory.</summary>
public interface IRangeParameters
{
    /// <summary>The guest-physical range the activity acts on.</summary>
    GuestRange Range { get; }
}
