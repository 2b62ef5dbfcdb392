namespace Hypervisor.HostMemory.Reclaim;

/// <summary>What one reclaim pass did.</summary>
/// <param name="Scanned">Pages the clock hand took off the LRU (isolated and locked).</param>
/// <param name="Young">Of those, pages found young (kept: their second chance).</param>
/// <param name="SwappedOut">Anonymous page-table entries replaced by swap entries.</param>
/// <param name="FileUnmapped">Page-cache page mappings removed.</param>
/// <param name="WrittenBack">Dirty page-cache pages written to their file before being dropped.</param>
/// <param name="FramesFreed">Frames whose last reference reclaim dropped.</param>
/// <param name="Contended">Pages skipped because their page lock or rmap lock was busy (<c>folio_trylock</c>, <c>rwc-&gt;try_lock</c>).</param>
public readonly record struct ReclaimResult(
    long Scanned,
    long Young,
    long SwappedOut,
    long FileUnmapped,
    long WrittenBack,
    long FramesFreed,
    int Contended);
