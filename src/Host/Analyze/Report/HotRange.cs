namespace Hypervisor.Host.Analyze.Report;

/// <summary>A 2 MiB-aligned host-virtual range of one guest's VMM process and how many invalidations started in it.</summary>
internal sealed record HotRange(string Guest, string StartHva, string EndHva, long Invalidations);
