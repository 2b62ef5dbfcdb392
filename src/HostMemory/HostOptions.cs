namespace Hypervisor.HostMemory;

/// <summary>Size and behaviour of a simulated host.</summary>
public sealed record HostOptions
{
    /// <summary>Host RAM in bytes (rounded down to whole 4 KiB frames).</summary>
    public long RamBytes { get; init; } = 1L << 30;

    /// <summary>Swap device size in bytes.</summary>
    public long SwapBytes { get; init; }

    /// <summary>Broken variants of the primary side, for oracle tests. <see cref="HostMutations.None"/> normally.</summary>
    public HostMutations Mutations { get; init; }
}
