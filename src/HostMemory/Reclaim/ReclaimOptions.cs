namespace Hypervisor.HostMemory.Reclaim;

/// <summary>How a <see cref="HostMemoryManager"/> handles memory pressure.</summary>
public sealed record ReclaimOptions
{
    /// <summary>kswapd wakes when free frames drop below this. 0: 1/64 of the frames (at least 16).</summary>
    public int LowWatermarkFrames { get; init; }

    /// <summary>kswapd reclaims until free frames reach this. 0: twice the low watermark.</summary>
    public int HighWatermarkFrames { get; init; }

    /// <summary>Which aging notifier reclaim and <c>AgeAll</c> call.</summary>
    public AgingPolicy Aging { get; init; } = AgingPolicy.ClearFlushYoung;

    /// <summary>Evict anonymous pages to the swap device (false: only page-cache pages are reclaimed).</summary>
    public bool SwapEnabled { get; init; } = true;

    /// <summary>Install direct reclaim into <see cref="Physical.PhysicalMemory.DirectReclaim"/>.</summary>
    public bool InstallDirectReclaim { get; init; } = true;

    /// <summary>When direct reclaim frees nothing, run one OOM-reaper step before the allocation fails.</summary>
    public bool OomReapWhenReclaimFails { get; init; } = true;

    /// <summary>Frames one direct-reclaim call tries to free.</summary>
    public int DirectReclaimBatch { get; init; } = 32;

    /// <summary>Frames kswapd tries to free per pass while below the high watermark.</summary>
    public int KswapdBatch { get; init; } = 256;

    /// <summary>How long kswapd sleeps when nobody wakes it.</summary>
    public TimeSpan KswapdPollInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>KSM scans every live address space, not only the registered ones.</summary>
    public bool KsmAllSpaces { get; init; }
}
