namespace Hypervisor.HostMemory.Reclaim;

/// <summary>What one OOM-reaper step did.</summary>
/// <param name="Victim">Name of the address space worked on, or null if there was none to reap.</param>
/// <param name="RangesReaped">VMA ranges whose private pages were zapped and freed.</param>
/// <param name="RangesDeferred">Ranges a notifier refused to invalidate without blocking; kept for a later retry.</param>
/// <param name="FramesFreed">Frames whose last reference the reaper dropped.</param>
/// <param name="Completed">The victim has no range left to reap.</param>
public readonly record struct OomReapResult(string? Victim, int RangesReaped, int RangesDeferred, long FramesFreed, bool Completed);
