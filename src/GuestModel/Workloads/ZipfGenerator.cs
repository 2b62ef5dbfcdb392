using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// <see cref="AccessPattern.Zipf"/>: a Zipf-distributed rank mapped to a page by a scatter that depends on the seed
/// only, so every vCPU of a guest (and every phase with the same working set) shares the same hot pages.
/// </summary>
internal sealed class ZipfGenerator(WorkloadSpec spec, WorkingSetWindow window, Xoshiro256StarStar random, ulong seed)
    : LeafGenerator(spec, window, random)
{
    private readonly ZipfSampler _sampler = new(window.Pages, spec.ZipfExponent);
    private readonly RankScatter _scatter = new(window.Pages, seed);

    public override WorkloadAccess Next() => Access(_scatter.Map(_sampler.Sample(ref Random) - 1));
}
