namespace Hypervisor.GuestModel.Scenarios;

/// <summary>How a vCPU chooses the next guest page it touches (workload key <c>pattern</c>).</summary>
public enum AccessPattern
{
    /// <summary>Every page of the working set in order, wrapping; each vCPU starts at its own offset.</summary>
    Sequential,

    /// <summary>Pages drawn uniformly at random from the working set.</summary>
    Uniform,

    /// <summary>Pages drawn with Zipf-distributed popularity: a few hot pages, scattered over the working set.</summary>
    Zipf,

    /// <summary>Pages <c>stride</c> apart, wrapping; each pass starts one page further.</summary>
    Stride,

    /// <summary>A cycle of sub-workloads, each for a given number of accesses.</summary>
    Phased,
}
