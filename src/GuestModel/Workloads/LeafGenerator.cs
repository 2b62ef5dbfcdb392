using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>A plain (not phased) workload: a page-choosing rule plus the read/write/duplicate decision they share.</summary>
internal abstract class LeafGenerator : WorkloadGenerator
{
    private readonly ulong _writeThreshold;
    private readonly ulong _duplicateThreshold;

    protected LeafGenerator(WorkloadSpec spec, WorkingSetWindow window, Xoshiro256StarStar random)
    {
        _writeThreshold = Xoshiro256StarStar.Threshold(spec.WriteRatio);
        _duplicateThreshold = Xoshiro256StarStar.Threshold(spec.DuplicateRatio);
        Window = window;
        Random = random;
    }

    /// <summary>The pages this workload touches.</summary>
    protected WorkingSetWindow Window { get; }

    /// <summary>This vCPU's generator; a field so subclasses advance it in place.</summary>
#pragma warning disable CA1051 // A mutable struct must be a field: a property would hand out copies.
    protected Xoshiro256StarStar Random;
#pragma warning restore CA1051

    /// <summary>The access to <paramref name="offsetInWindow"/>, deciding read or write and duplicate value.</summary>
    protected WorkloadAccess Access(ulong offsetInWindow)
    {
        var write = _writeThreshold != 0 && Random.Chance(_writeThreshold);
        var duplicate = write && _duplicateThreshold != 0 && Random.Chance(_duplicateThreshold);
        return new WorkloadAccess(Window.FirstPage + offsetInWindow, write, duplicate);
    }
}
