using System.Runtime.CompilerServices;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Locking;

namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// The host's physical memory: a frame table (content word plus packed state word per frame, 16 bytes), a free
/// list and the use-after-free checks. Frame 0 is the zero page, pinned forever.
/// </summary>
/// <remarks>
/// Content and state sit side by side (<see cref="Frame"/>) because the guest access path touches both on
/// every access: one cache line instead of two. Frames above the high-water mark have never been handed out,
/// so a large host costs nothing until it is used.
/// A freed frame holds <see cref="Poison"/>; the allocator checks the poison when it hands the frame out
/// again, which catches writes through stale mappings that no reader happened to see.
/// </remarks>
public sealed partial class PhysicalMemory
{
    /// <summary>Content word of every free frame (the kernel's <c>PAGE_POISON</c> pattern, widened).</summary>
    public const ulong Poison = 0xDEAD_BEEF_DEAD_BEEFUL;

    private const int NoFrame = -1;

    private readonly Frame[] _frames;
    private readonly ViolationLog _violations;

    // Guards _freeHead, _highWater and the free-list links; held for a handful of instructions only.
    private SpinLatch _freeListLock;
    private int _freeHead = NoFrame;
    private int _highWater = 1;
    private int _freeCount;

    public PhysicalMemory(long frameCount, ViolationLog violations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameCount, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frameCount, int.MaxValue - 1);
        _frames = new Frame[frameCount];
        _rmapMapping = new ushort[frameCount];
        _rmapIndex = new uint[frameCount];
        _hugeBlockFree = new short[frameCount / HugeFrames + 1];
        Array.Fill(_hugeBlockFree, (short)-1); // no block is a huge block until one is allocated whole
        _violations = violations;
        _freeCount = (int)frameCount - 1;
        // The zero page: one permanent reference, never mapped-counted, never freed.
        _frames[0].State = FrameState.Make(1, 0, FrameFlags.None);
    }

    /// <summary>Number of frames, including the zero page.</summary>
    public int TotalFrames => _frames.Length;

    /// <summary>One past the highest frame ever handed out: the range a physical scan (the LRU clock) covers.</summary>
    public int HighWater => Volatile.Read(ref _highWater);

    /// <summary>Frames that are free now (never used or on the free list).</summary>
    public int FreeFrames => Volatile.Read(ref _freeCount);

    public ViolationLog Violations => _violations;

    /// <summary>
    /// Called when an allocation finds no free frame (direct reclaim). Returns true if it freed something,
    /// in which case the allocation is tried once more. Runs on the allocating thread with no lock held.
    /// </summary>
    public Func<bool>? DirectReclaim { get; set; }

    /// <summary>Free frames below which an allocation calls <see cref="LowMemory"/> (kswapd's low watermark).</summary>
    public int LowWatermark { get; set; }

    /// <summary>
    /// Called after an allocation that left fewer than <see cref="LowWatermark"/> frames free (it wakes kswapd).
    /// Runs on the allocating thread with no lock held; must be cheap and must not block.
    /// </summary>
    public Action? LowMemory { get; set; }

    /// <summary>
    /// Allocates a frame with one reference, no mappings, the given flags and content. Returns false when the
    /// host is out of memory (after direct reclaim, if one is installed, could not help).
    /// </summary>
    public bool TryAllocate(FrameFlags flags, ulong content, out Pfn pfn)
    {
        if (TryPopFree(out var index) || (DirectReclaim?.Invoke() == true && TryPopFree(out index)))
        {
            ref var frame = ref _frames[index];
            if (frame.Content != Poison && frame.State != 0)
            {
                _violations.Report(ViolationKind.WriteAfterFree, new AccessSite("allocator", -1, 0), index,
                    $"free frame {index} was written while on the free list (content 0x{frame.Content:x})");
            }

            frame.Content = content;
            Volatile.Write(ref frame.State, FrameState.Make(1, 0, flags));
            pfn = new Pfn(index);
            if (Volatile.Read(ref _freeCount) < LowWatermark)
            {
                LowMemory?.Invoke();
            }

            return true;
        }

        pfn = default;
        return false;
    }

    private bool TryPopFree(out int index)
    {
        using (_freeListLock.Enter())
        {
            if (_freeHead != NoFrame)
            {
                index = _freeHead;
                var state = _frames[index].State;
                var link = state & FrameState.FreeLinkMask;
                if ((state & FrameState.FlagBits(FrameFlags.Free)) != 0 && (link == FrameState.FreeLinkMask || link < (ulong)_frames.Length))
                {
                    _freeHead = link == FrameState.FreeLinkMask ? NoFrame : (int)link;
                    _freeCount--;
                    return true;
                }

                // CONFIG_DEBUG_LIST: a free frame's state was written after its free (a stale mapping counted on it).
                // Report it and drop the rest of the list rather than follow a corrupt link; the frames on it are lost.
                _violations.Report(ViolationKind.WriteAfterFree, new AccessSite("allocator", -1, 0), index,
                    $"free frame {index} had its state changed while on the free list (0x{state:x}); the free list is cut there");
                _freeHead = NoFrame;
            }

            if (_highWater < _frames.Length)
            {
                index = _highWater++;
                _freeCount--;
                return true;
            }

            if (TryBreakFreeHugeBlock(out index))
            {
                _freeCount--;
                return true;
            }
        }

        index = NoFrame;
        return false;
    }

    private void PushFree(int index)
    {
        ref var frame = ref _frames[index];
        frame.Content = Poison;
        using (_freeListLock.Enter())
        {
            if (_hugeBlockFree[index / HugeFrames] >= 0)
            {
                ReturnToHugeBlock(index);
                return;
            }

            var link = _freeHead == NoFrame ? FrameState.FreeLinkMask : (ulong)_freeHead;
            Volatile.Write(ref frame.State, FrameState.FlagBits(FrameFlags.Free) | link);
            _freeHead = index;
            _freeCount++;
        }
    }

    /// <summary>The raw state word (for tests, statistics and the reclaim scanners).</summary>
    public ulong StateOf(Pfn pfn) => Volatile.Read(ref _frames[pfn.Value].State);

    public int RefCount(Pfn pfn) => FrameState.RefCount(StateOf(pfn));

    public int MapCount(Pfn pfn) => FrameState.MapCount(StateOf(pfn));

    public FrameFlags Flags(Pfn pfn) => FrameState.Flags(StateOf(pfn));

    public bool IsFree(Pfn pfn) => (StateOf(pfn) & FrameState.FlagBits(FrameFlags.Free)) != 0;

    /// <summary>
    /// Reads a frame's content on behalf of <paramref name="site"/>. A read of a free frame is counted as a
    /// use-after-free and returns the poison word, which is what the stale reader would really have seen.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Read(Pfn pfn, in AccessSite site)
    {
        ref var frame = ref _frames[pfn.Value];
        var value = Volatile.Read(ref frame.Content);
        if ((Volatile.Read(ref frame.State) & FrameState.FlagBits(FrameFlags.Free)) != 0)
        {
            ReportUseAfterFree(pfn, site, "read");
        }

        return value;
    }

    /// <summary>Writes a frame's content on behalf of <paramref name="site"/>; a write to a free frame is counted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(Pfn pfn, ulong value, in AccessSite site)
    {
        ref var frame = ref _frames[pfn.Value];
        if ((Volatile.Read(ref frame.State) & FrameState.FlagBits(FrameFlags.Free)) != 0)
        {
            ReportUseAfterFree(pfn, site, "write");
            return;
        }

        if (pfn.IsZeroPage)
        {
            _violations.Report(ViolationKind.UseAfterFree, site, 0, "write to the shared zero page");
            return;
        }

        Volatile.Write(ref frame.Content, value);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportUseAfterFree(Pfn pfn, in AccessSite site, string what) =>
        _violations.Report(ViolationKind.UseAfterFree, site, pfn.Value,
            $"{site.Actor} {what} frame {pfn.Value} after it was freed (address 0x{site.Address:x})");

    private struct Frame
    {
        public ulong Content;
        public ulong State;
    }
}
