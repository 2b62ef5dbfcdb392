using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// A file (or a shared-memory object) with a page cache: a backing store of content words, and for each page
/// index the cached frame, if any. The cache holds one reference on each cached frame.
/// </summary>
/// <remarks>
/// Backing and cache index are chunked and allocated on first use, so a file of hundreds of GiB costs memory only
/// for the parts that are touched. A shared-memory object (<see cref="IsShmem"/>) has no backing store: its
/// pages live only in the cache.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "i_mmap_rwsem lives exactly as long as the file.")]
public sealed partial class FileObject
{
    private const int ChunkShift = 16;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly ulong[]?[] _backing;
    private readonly int[]?[] _cache;

    // Guards insertion into and removal from the page cache (the kernel's i_pages lock).
    private readonly ProtocolLock _cacheLock = new("i_pages lock");

    internal FileObject(string name, long pages, bool shmem, bool writeNotify = true, bool xip = false)
    {
        if (xip && shmem)
        {
            throw new ArgumentException("a shared-memory object has no execute-in-place backing", nameof(xip));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        Name = name;
        Pages = pages;
        IsShmem = shmem;
        WriteNotify = writeNotify && !shmem;
        var chunks = (int)((pages + ChunkSize - 1) >> ChunkShift);
        _backing = new ulong[]?[chunks];
        _cache = new int[]?[chunks];
        IsXip = xip;
        _xipBlocks = xip ? new int[]?[chunks] : [];
    }

    public string Name { get; }

    public long Pages { get; }

    public bool IsShmem { get; }

    /// <summary>
    /// Execute in place (<c>mm/filemap_xip.c</c>, later DAX): no page cache; each written page is a block of
    /// directly mapped memory, and a hole reads as the shared sparse (zero) page. See <c>FileObject.Xip.cs</c>.
    /// </summary>
    public bool IsXip { get; }

    /// <summary>
    /// Dirty accounting (<c>vma_wants_writenotify</c>): shared mappings are mapped read-only on a read fault so the
    /// first write is seen. Without it (shared memory, file systems without <c>page_mkwrite</c>) a read fault maps
    /// the page writable and clean, and only the PTE dirty bits, and a secondary MMU's, say it was written.
    /// </summary>
    public bool WriteNotify { get; }

    /// <summary>The backing-store content of page <paramref name="index"/> (what a read from disk returns).</summary>
    public ulong ReadBacking(long index) => _backing[index >> ChunkShift] is { } chunk ? Volatile.Read(ref chunk[index & (ChunkSize - 1)]) : 0;

    /// <summary>Writes page <paramref name="index"/> to the backing store (writeback).</summary>
    public void WriteBacking(long index, ulong content)
    {
        var chunk = _backing[index >> ChunkShift] ?? EnsureChunk(_backing, index);
        Volatile.Write(ref chunk[index & (ChunkSize - 1)], content);
    }

    /// <summary>The frame caching page <paramref name="index"/>, or null. Takes no reference.</summary>
    public Pfn? CachedPage(long index)
    {
        var chunk = Volatile.Read(ref _cache[index >> ChunkShift]);
        var pfn = chunk is null ? 0 : Volatile.Read(ref chunk[index & (ChunkSize - 1)]);
        return pfn == 0 ? null : new Pfn(pfn);
    }

    /// <summary>
    /// <c>filemap_fault</c> / <c>shmem_fault</c>: the cached frame of page <paramref name="index"/>, reading it in
    /// from the backing store if needed. On success the caller holds one reference of its own on the frame.
    /// </summary>
    public HostStatus GetPage(long index, PhysicalMemory memory, out Pfn pfn)
    {
        if (index < 0 || index >= Pages)
        {
            pfn = default;
            return HostStatus.NoVma;
        }

        using (_cacheLock.EnterScope())
        {
            if (CachedPage(index) is { } cached)
            {
                memory.Get(cached);
                pfn = cached;
                return HostStatus.Ok;
            }
        }

        // Read the page in outside the lock (allocation may reclaim), then insert unless someone else won.
        var content = IsShmem ? 0 : ReadBacking(index);
        if (!memory.TryAllocate(FrameFlags.PageCache, content, out var fresh))
        {
            pfn = default;
            return HostStatus.OutOfMemory;
        }

        using (_cacheLock.EnterScope())
        {
            if (CachedPage(index) is { } raced)
            {
                memory.Get(raced);
                memory.Put(fresh);
                pfn = raced;
                return HostStatus.Ok;
            }

            if (!IsShmem)
            {
                // Read the backing store again, under the lock: reclaim may have written back and dropped the page
                // since the read above, and only a read ordered after that drop sees its last content.
                memory.Write(fresh, ReadBacking(index), new AccessSite("filemap", -1, (ulong)index));
            }

            // __filemap_add_folio: folio->mapping and ->index before the page is visible in the cache.
            memory.SetRmap(fresh, RmapId, (uint)index);
            var chunk = _cache[index >> ChunkShift] ?? EnsureChunk(_cache, index);
            Volatile.Write(ref chunk[index & (ChunkSize - 1)], fresh.Value);
            memory.Get(fresh); // the caller's reference; the allocation's reference belongs to the cache
            pfn = fresh;
            return HostStatus.Ok;
        }
    }

    /// <summary>
    /// Drops page <paramref name="index"/> from the cache if it is still <paramref name="expected"/>; the cache's
    /// reference passes to the caller. Used by reclaim once no PTE maps the page.
    /// </summary>
    public bool TryRemoveFromCache(long index, Pfn expected)
    {
        using (_cacheLock.EnterScope())
        {
            var chunk = _cache[index >> ChunkShift];
            if (chunk is null || chunk[index & (ChunkSize - 1)] != expected.Value)
            {
                return false;
            }

            Volatile.Write(ref chunk[index & (ChunkSize - 1)], 0);
            return true;
        }
    }

    /// <summary>Replaces the cached frame of page <paramref name="index"/> (migration); false if it changed.</summary>
    public bool TryReplaceInCache(long index, Pfn expected, Pfn replacement)
    {
        using (_cacheLock.EnterScope())
        {
            var chunk = _cache[index >> ChunkShift];
            if (chunk is null || chunk[index & (ChunkSize - 1)] != expected.Value)
            {
                return false;
            }

            Volatile.Write(ref chunk[index & (ChunkSize - 1)], replacement.Value);
            return true;
        }
    }

    private static T[] EnsureChunk<T>(T[]?[] chunks, long index)
    {
        var slot = (int)(index >> ChunkShift);
        var fresh = new T[ChunkSize];
        return Interlocked.CompareExchange(ref chunks[slot], fresh, null) ?? fresh;
    }

    public override string ToString() => IsShmem ? $"shmem:{Name}" : $"file:{Name}";
}
