namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>munmap-remap</c>: the VMM unmaps part of guest RAM and maps fresh memory there again.</summary>
/// <param name="Range">The guest-physical range unmapped.</param>
/// <param name="Gap">How long the range stays unmapped before it is mapped again.</param>
public sealed record MunmapRemapParameters(GuestRange Range, TimeSpan Gap) : ActivityParameters, IRangeParameters;
