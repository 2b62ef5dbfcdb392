using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// The page-cache operations of reclaim, writeback and migration: look up without reading in
/// (<c>find_get_page</c>), walk the cached pages, and remove or replace a page only while nobody else holds a
/// reference to it (<c>folio_ref_freeze</c> under the <c>i_pages</c> lock in <c>__remove_mapping</c> and
/// <c>folio_migrate_mapping</c>).
/// </summary>
public sealed partial class FileObject
{
    // Serializes writebacks of this file's pages (the role of PG_writeback): each reads the frame and writes the
    // backing store in one step, so an older copy of a page can never land after a newer one.
    private readonly ProtocolLock _writebackLock = new("writeback lock");

    /// <summary>
    /// <c>writepage</c>: copies the content of <paramref name="pfn"/>, which caches page <paramref name="index"/>, to
    /// the backing store. The caller holds a reference on the frame and has cleared its dirty flag.
    /// </summary>
    internal void WriteBack(long index, Pfn pfn, PhysicalMemory memory)
    {
        using (_writebackLock.EnterScope())
        {
            WriteBacking(index, memory.Read(pfn, new AccessSite("writeback", -1, (ulong)index)));
        }
    }

    /// <summary>
    /// <c>find_get_page</c>: the cached frame of page <paramref name="index"/> with one reference for the caller,
    /// or false if the page is not cached. Never reads the page in.
    /// </summary>
    internal bool TryGetCached(long index, PhysicalMemory memory, out Pfn pfn)
    {
        using (_cacheLock.EnterScope())
        {
            if (CachedPage(index) is { } cached)
            {
                memory.Get(cached);
                pfn = cached;
                return true;
            }
        }

        pfn = default;
        return false;
    }

    /// <summary>
    /// The first cached page at or after <paramref name="from"/>, or -1. Skips untouched chunks whole, so walking a
    /// large, sparsely cached file costs little. A racy snapshot: take a reference with
    /// <see cref="TryGetCached"/> before using the frame.
    /// </summary>
    internal long NextCached(long from)
    {
        for (var index = Math.Max(from, 0); index < Pages;)
        {
            var chunk = Volatile.Read(ref _cache[index >> ChunkShift]);
            if (chunk is null)
            {
                index = ((index >> ChunkShift) + 1) << ChunkShift;
                continue;
            }

            var end = Math.Min(((index >> ChunkShift) + 1) << ChunkShift, Pages);
            for (; index < end; index++)
            {
                if (Volatile.Read(ref chunk[index & (ChunkSize - 1)]) != 0)
                {
                    return index;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// Replaces (migration) or removes (reclaim; <paramref name="replacement"/> = null) the cached frame of page
    /// <paramref name="index"/>, but only if it is still <paramref name="expected"/> and its reference count is
    /// exactly <paramref name="expectedRefs"/>. New references to a cached page are only taken under the cache
    /// lock (a page no PTE maps can only be found through the cache), so the check cannot race with a new user.
    /// On success the cache's reference on <paramref name="expected"/> passes to the caller, and the caller's
    /// reference on <paramref name="replacement"/> passes to the cache.
    /// </summary>
    internal bool TryFreezeAndReplace(long index, Pfn expected, Pfn? replacement, PhysicalMemory memory, int expectedRefs)
    {
        using (_cacheLock.EnterScope())
        {
            var chunk = _cache[index >> ChunkShift];
            if (chunk is null || chunk[index & (ChunkSize - 1)] != expected.Value || memory.RefCount(expected) != expectedRefs)
            {
                return false;
            }

            Volatile.Write(ref chunk[index & (ChunkSize - 1)], replacement?.Value ?? 0);
            return true;
        }
    }

    /// <summary>
    /// <c>__remove_mapping</c> for a page-cache page: under the cache lock, if page <paramref name="index"/> is still
    /// <paramref name="pfn"/>, freeze its references (the caller's isolation reference plus the cache's), then test
    /// dirty (refcount first, then dirty: a write through a get_user_pages reference dropped in between is not lost),
    /// then remove it from the cache. True if removed; the frame is then frozen with no references, for
    /// <see cref="PhysicalMemory.FreeFrozen"/>. Caller holds the page lock.
    /// </summary>
    internal bool TryRemoveFrozen(long index, Pfn pfn, PhysicalMemory memory)
    {
        System.Diagnostics.Debug.Assert(memory.IsPageLocked(pfn), "__remove_mapping: the caller holds the folio lock");
        using (_cacheLock.EnterScope())
        {
            var chunk = _cache[index >> ChunkShift];
            if (chunk is null || chunk[index & (ChunkSize - 1)] != pfn.Value || !memory.TryFreeze(pfn, 2))
            {
                return false;
            }

            if ((memory.Flags(pfn) & FrameFlags.Dirty) != 0)
            {
                memory.Unfreeze(pfn, 2);
                return false;
            }

            Volatile.Write(ref chunk[index & (ChunkSize - 1)], 0);
            return true;
        }
    }

    /// <summary>
    /// <c>folio_migrate_mapping</c> for a page-cache page: under the cache lock, freeze <paramref name="old"/>'s
    /// references (the caller's isolation reference plus the cache's) and put <paramref name="replacement"/> in its slot.
    /// The caller has taken the cache's reference on the replacement and holds both page locks.
    /// </summary>
    internal bool TryReplaceFrozen(long index, Pfn old, Pfn replacement, PhysicalMemory memory)
    {
        using (_cacheLock.EnterScope())
        {
            var chunk = _cache[index >> ChunkShift];
            if (chunk is null || chunk[index & (ChunkSize - 1)] != old.Value || !memory.TryFreeze(old, 2))
            {
                return false;
            }

            Volatile.Write(ref chunk[index & (ChunkSize - 1)], replacement.Value);
            return true;
        }
    }
}
