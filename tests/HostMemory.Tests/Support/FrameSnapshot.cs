namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>A watched frame's state at the moment a callback ran.</summary>
/// <param name="IsFree">The frame was on the free list.</param>
/// <param name="RefCount">Its reference count (<c>page_count</c>).</param>
/// <param name="MapCount">Page-table entries mapping it (<c>page_mapcount</c>).</param>
public readonly record struct FrameSnapshot(bool IsFree, int RefCount, int MapCount);
