namespace Hypervisor.GuestModel.Workloads;

/// <summary>One guest memory access chosen by a workload.</summary>
/// <param name="Page">Guest page index, 0 to the guest's page count - 1 (the gfn relative to guest-physical 0).</param>
/// <param name="Write">Whether the access writes (else it reads).</param>
/// <param name="Duplicate">For a write: whether it stores a value common to many pages (so KSM can merge them).</param>
public readonly record struct WorkloadAccess(ulong Page, bool Write, bool Duplicate);
