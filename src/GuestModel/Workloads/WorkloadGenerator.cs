using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// An endless, deterministic stream of guest accesses for one vCPU, built from a <see cref="WorkloadSpec"/>.
/// <see cref="Next"/> is the hot path: no heap allocation, a few nanoseconds (Zipf pays a few logarithms more).
/// The same spec, seed, page count and vCPU give the same sequence. Not thread-safe: one per vCPU thread.
/// </summary>
public abstract class WorkloadGenerator
{
    private protected WorkloadGenerator()
    {
    }

    /// <summary>The next access.</summary>
    public abstract WorkloadAccess Next();

    /// <summary>Builds the generator vCPU <paramref name="vcpu"/> runs.</summary>
    /// <param name="spec">The workload; its working set must lie inside the guest.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="guestPages">Guest memory in pages; accesses fall in [0, guestPages).</param>
    /// <param name="vcpu">The vCPU index, in [0, <paramref name="vcpuCount"/>): separates the random streams and
    /// spreads sequential and stride starting points.</param>
    /// <param name="vcpuCount">How many vCPUs run the guest.</param>
    /// <exception cref="ArgumentException">The spec does not fit the guest (the loader prevents this for scenario files).</exception>
    public static WorkloadGenerator Create(WorkloadSpec spec, ulong seed, long guestPages, int vcpu, int vcpuCount)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(guestPages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vcpuCount);
        ArgumentOutOfRangeException.ThrowIfNegative(vcpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(vcpu, vcpuCount);
        if (spec.Pattern != AccessPattern.Phased)
        {
            return CreateLeaf(spec, seed, guestPages, vcpu, vcpuCount, phase: 0);
        }

        if (spec.Phases.Count == 0)
        {
            throw new ArgumentException("A phased workload needs at least one phase.", nameof(spec));
        }

        var phases = new WorkloadGenerator[spec.Phases.Count];
        var accesses = new long[spec.Phases.Count];
        for (var i = 0; i < phases.Length; i++)
        {
            var phase = spec.Phases[i];
            if (phase.Workload.Pattern == AccessPattern.Phased || phase.Accesses < 1)
            {
                throw new ArgumentException($"Phase {i} must be a plain workload with at least one access.", nameof(spec));
            }

            phases[i] = CreateLeaf(phase.Workload, seed, guestPages, vcpu, vcpuCount, phase: i + 1);
            accesses[i] = phase.Accesses;
        }

        return new PhasedGenerator(phases, accesses);
    }

    private static LeafGenerator CreateLeaf(WorkloadSpec spec, ulong seed, long guestPages, int vcpu, int vcpuCount, int phase)
    {
        var window = WorkingSetWindow.Of(spec, guestPages);
        var random = new Xoshiro256StarStar(seed, ((ulong)vcpu << 20) | (uint)phase);
        var start = (ulong)((UInt128)(ulong)vcpu * window.Pages / (ulong)vcpuCount);
        return spec.Pattern switch
        {
            AccessPattern.Sequential => new SequentialGenerator(spec, window, random, start),
            AccessPattern.Uniform => new UniformGenerator(spec, window, random),
            AccessPattern.Zipf => new ZipfGenerator(spec, window, random, seed),
            AccessPattern.Stride => new StrideGenerator(spec, window, random, start, StridePages(spec)),
            _ => throw new ArgumentException($"Pattern {spec.Pattern} is not a plain workload.", nameof(spec)),
        };
    }

    private static ulong StridePages(WorkloadSpec spec)
    {
        if (spec.Stride <= 0 || spec.Stride % ScenarioUnits.PageSize != 0)
        {
            throw new ArgumentException($"Stride {spec.Stride} must be a positive multiple of the page size.", nameof(spec));
        }

        return (ulong)(spec.Stride / ScenarioUnits.PageSize);
    }
}
