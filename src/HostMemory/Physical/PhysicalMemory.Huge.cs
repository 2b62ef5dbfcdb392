using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// Order-9 allocations for transparent huge pages: 512 contiguous frames, the first one 512-aligned, so a PMD leaf and a
/// 2 MiB SPTE can map them (<c>VM_BUG_ON((gfn &amp; mask) != (pfn &amp; mask))</c> in KVM).
/// </summary>
/// <remarks>
/// A block handed out whole stays a block: its frames are freed one by one (a split page's subpages go at different
/// times) but return to the block, which goes back on the huge free list when its last frame comes back — the buddy
/// allocator's merge, for this one order. A small allocation that finds neither a free frame nor untouched memory
/// breaks a free block into small frames. The bookkeeping is two bytes per 512 frames, so the frame table stays 16
/// bytes a frame plus the rmap's six. Caller-visible frames are ordinary frames with their own reference and map
/// counts: a PMD mapping counts one mapping on each subpage, which is what the split leaves anyway.
/// </remarks>
public sealed partial class PhysicalMemory
{
    /// <summary>Frames in a huge page (<c>HPAGE_PMD_NR</c>).</summary>
    public const int HugeFrames = 512;

    // Per 512-frame block: -1 when the block is not a huge block (its frames are small frames), else how many of its
    // frames are free (512: the block is on _freeHugeBlocks). Guarded by _freeListLock.
    private readonly short[] _hugeBlockFree;
    private readonly Stack<int> _freeHugeBlocks = new();

    /// <summary>Free whole blocks ready for a huge allocation.</summary>
    public int FreeHugeBlocks
    {
        get
        {
            using (_freeListLock.Enter())
            {
                return _freeHugeBlocks.Count;
            }
        }
    }

    /// <summary>
    /// Allocates 512 contiguous frames starting at a 512-aligned pfn, each with one reference, no mappings, the given
    /// flags and content 0 (<c>vma_alloc_folio(..., HPAGE_PMD_ORDER)</c> of a zeroed folio). False when no whole block
    /// is free: the caller falls back to small pages (<c>thp_fault_fallback</c>); there is no compaction and no direct
    /// reclaim for it, as with the kernel's default <c>defrag</c> setting for faults outside <c>madvise</c> regions.
    /// </summary>
    public bool TryAllocateHuge(FrameFlags flags, out Pfn head)
    {
        int block;
        bool fresh;
        using (_freeListLock.Enter())
        {
            if (_freeHugeBlocks.Count > 0)
            {
                block = _freeHugeBlocks.Pop();
                fresh = false;
            }
            else
            {
                var aligned = (_highWater + HugeFrames - 1) / HugeFrames * HugeFrames;
                if (aligned + HugeFrames > _frames.Length)
                {
                    head = default;
                    return false;
                }

                // The frames skipped to reach the alignment become ordinary free frames (still counted free).
                for (var i = _highWater; i < aligned; i++)
                {
                    LinkSmallFree(i);
                }

                _highWater = aligned + HugeFrames;
                block = aligned / HugeFrames;
                fresh = true;
            }

            _hugeBlockFree[block] = 0;
            _freeCount -= HugeFrames;
        }

        var first = block * HugeFrames;
        for (var i = first; i < first + HugeFrames; i++)
        {
            ref var frame = ref _frames[i];
            if (!fresh && frame.Content != Poison)
            {
                _violations.Report(ViolationKind.WriteAfterFree, new AccessSite("allocator", -1, 0), i,
                    $"free frame {i} of a huge block was written while free (content 0x{frame.Content:x})");
            }

            frame.Content = 0;
            Volatile.Write(ref frame.State, FrameState.Make(1, 0, flags));
        }

        head = new Pfn(first);
        if (Volatile.Read(ref _freeCount) < LowWatermark)
        {
            LowMemory?.Invoke();
        }

        return true;
    }

    /// <summary>True if <paramref name="pfn"/> lies in a block that was allocated whole (for tests and statistics).</summary>
    public bool IsInHugeBlock(Pfn pfn)
    {
        using (_freeListLock.Enter())
        {
            return _hugeBlockFree[pfn.Value / HugeFrames] >= 0;
        }
    }

    /// <summary>A frame of a huge block was freed (under the free-list lock): the block takes it back.</summary>
    private void ReturnToHugeBlock(int index)
    {
        Volatile.Write(ref _frames[index].State, FrameState.FlagBits(FrameFlags.Free) | FrameState.FreeLinkMask);
        _freeCount++;
        var block = index / HugeFrames;
        if (++_hugeBlockFree[block] == HugeFrames)
        {
            _freeHugeBlocks.Push(block);
        }
    }

    /// <summary>
    /// No small frame is left: a free huge block becomes 512 small free frames; the first is returned (under the
    /// free-list lock).
    /// </summary>
    private bool TryBreakFreeHugeBlock(out int index)
    {
        if (_freeHugeBlocks.Count == 0)
        {
            index = NoFrame;
            return false;
        }

        var block = _freeHugeBlocks.Pop();
        _hugeBlockFree[block] = -1;
        var first = block * HugeFrames;
        for (var i = first + 1; i < first + HugeFrames; i++)
        {
            LinkSmallFree(i);
        }

        index = first;
        return true;
    }

    /// <summary>Puts a frame already counted free on the small free list (under the free-list lock).</summary>
    private void LinkSmallFree(int index)
    {
        ref var frame = ref _frames[index];
        frame.Content = Poison;
        var link = _freeHead == NoFrame ? FrameState.FreeLinkMask : (ulong)_freeHead;
        Volatile.Write(ref frame.State, FrameState.FlagBits(FrameFlags.Free) | link);
        _freeHead = index;
    }
}
