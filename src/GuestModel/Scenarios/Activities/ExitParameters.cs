namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>exit</c> (none): the guest's VMM process exits, tearing its address space down.</summary>
public sealed record ExitParameters : ActivityParameters;
