using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary><see cref="AccessPattern.Uniform"/>: every page of the working set equally likely.</summary>
internal sealed class UniformGenerator(WorkloadSpec spec, WorkingSetWindow window, Xoshiro256StarStar random)
    : LeafGenerator(spec, window, random)
{
    public override WorkloadAccess Next() => Access(Random.NextBelow(Window.Pages));
}
