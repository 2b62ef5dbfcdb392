namespace Hypervisor.GuestModel.Oracle;

/// <summary>What a <see cref="HostEvent"/> may do to guest-visible data.</summary>
public enum HostEventKind
{
    /// <summary>munmap, madvise(DONTNEED), OOM reaping: pages may read back as zero (or from the file).</summary>
    Discard,
    /// <summary>The VMM wrote into guest RAM.</summary>
    HostWrite,
}
