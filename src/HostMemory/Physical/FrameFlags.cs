namespace Hypervisor.HostMemory.Physical;

/// <summary>Page flags kept in the top byte of a frame's state word (<c>struct page</c> flags).</summary>
[Flags]
public enum FrameFlags : byte
{
    None = 0,
    /// <summary>On the free list; content is the poison word.</summary>
    Free = 1 << 0,
    /// <summary><c>PG_dirty</c>: the content differs from the backing store.</summary>
    Dirty = 1 << 1,
    /// <summary><c>PG_referenced</c>: seen accessed by aging since the last scan.</summary>
    Referenced = 1 << 2,
    /// <summary><c>PG_swapcache</c>: the page has a swap slot holding a copy.</summary>
    SwapCache = 1 << 3,
    /// <summary>A KSM-merged, write-protected page shared by identical private pages.</summary>
    Ksm = 1 << 4,
    /// <summary>An anonymous page (as opposed to a page-cache page).</summary>
    Anon = 1 << 5,
    /// <summary>A page-cache page of a <see cref="AddressSpaces.FileObject"/>.</summary>
    PageCache = 1 << 6,
    /// <summary>
    /// <c>PG_locked</c>, the page lock: held by reclaim, writeback, migration and swap-in while they work on the page;
    /// file rmap walks require it (it keeps the page's mapping from being truncated away).
    /// </summary>
    Locked = 1 << 7,
}
