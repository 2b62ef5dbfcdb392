namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// What the scanners that work per address space (ksmd, the OOM reaper, migration's address lookup) need from it
/// beyond its public surface: the VMA list under a lock they already hold, a non-waiting mmap lock that tolerates a
/// thread already holding it, and the OOM reaper's mark. (Reclaim, aging, writeback and migration's move reach
/// mappings through the reverse maps instead, with no mmap lock.)
/// </summary>
public sealed partial class AddressSpace
{
    private volatile bool _oomReaped;

    /// <summary>
    /// True once the OOM reaper has started taking this space's private memory (<c>MMF_UNSTABLE</c>): from then
    /// on every fault fails with <see cref="HostStatus.Dead"/> instead of silently reading zeroes.
    /// </summary>
    public bool IsOomReaped => _oomReaped;

    /// <summary>The VMA list itself, in address order. Caller holds the mmap lock (read or write) while using it.</summary>
    internal List<Vma> VmasLocked => _vmas;

    internal void MarkOomReaped() => _oomReaped = true;

    /// <summary>
    /// The mmap lock for read without waiting (<c>mmap_read_trylock</c>), for scanners that skip busy spaces.
    /// When the calling thread already holds the lock (direct reclaim entered from a fault of this very space)
    /// the scan runs under that hold, which protects the VMAs and tables just as well, and the returned scope
    /// releases nothing: the lock is not recursive.
    /// </summary>
    internal bool TryEnterScan(out MmapLockScope scope)
    {
        if (_mmapLock.IsReadLockHeld || _mmapLock.IsWriteLockHeld)
        {
            scope = default;
            return true;
        }

        return TryEnterRead(out scope);
    }
}
