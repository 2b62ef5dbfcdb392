using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Page reclaim (<c>shrink_folio_list</c>): a clock hand sweeps the frame table (the LRU, kept as physical order),
/// takes each anonymous or page-cache page off it (a reference and the page lock), ages it through the reverse map
/// (<c>folio_referenced</c>), and evicts the cold ones: anonymous pages into the swap cache and out to swap, page-cache
/// pages back to their file. Used by kswapd (<see cref="ReclaimDaemon"/>), by direct reclaim (<see cref="DirectReclaim"/>,
/// installed in <see cref="Physical.PhysicalMemory.DirectReclaim"/>) and by the scenario's <c>reclaim</c> activity.
/// </summary>
/// <remarks>
/// <para>
/// Reclaim never takes an mmap lock: it finds a page's mappings through the rmap (<see cref="Rmap.RmapWalk"/>), under
/// the page lock, the rmap lock (try-lock: a busy one is skipped, as <c>rwc-&gt;try_lock</c>) and each mapping's
/// page-table lock, and so races munmap, mprotect, fork and exit as the kernel's does.
/// </para>
/// <para>
/// Concurrent passes (kswapd and several direct reclaimers) take disjoint chunks of the hand's sweep; a page taken by
/// one is skipped by the others (its page lock is held).
/// </para>
/// </remarks>
public sealed partial class ReclaimScanner
{
    // PF_MEMALLOC: a thread that is already reclaiming never re-enters reclaim from an allocation.
    [ThreadStatic]
    private static bool _reclaimingOnThisThread;

    // Passes one direct-reclaim call may run (the kernel's MAX_RECLAIM_RETRIES).
    private const int MaxDirectReclaimPasses = 16;

    // Frames the hand moves per step (SWAP_CLUSTER_MAX-like batches of the LRU).
    private const int ScanChunk = 32;

    private readonly HostSystem _host;
    private readonly PageAging _aging;

    // The clock hand: the next frame to look at; each pass claims the chunk after it with a compare-exchange.
    private int _hand;

    public ReclaimScanner(HostSystem host, PageAging aging, bool swapEnabled, int directReclaimBatch = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(directReclaimBatch, 1);
        _host = host;
        _aging = aging;
        SwapEnabled = swapEnabled;
        DirectReclaimBatch = directReclaimBatch;
    }

    /// <summary>False: anonymous pages are never evicted (no swap), only page-cache pages.</summary>
    public bool SwapEnabled { get; }

    /// <summary>Frames one direct-reclaim call tries to free (<c>SWAP_CLUSTER_MAX</c>).</summary>
    public int DirectReclaimBatch { get; }

    /// <summary>
    /// Test hook: called after a page was written to swap (or to its file) and before reclaim tries to free it, with
    /// the page locked and unmapped. A refault that comes in here finds the page in the swap cache.
    /// </summary>
    public Action<Pfn>? AfterPageout { get; set; }

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>
    /// Moves the clock hand until <paramref name="targetPages"/> frames were freed or it went twice around all
    /// memory (a page found young on the first round gets its second chance and is taken on the second).
    /// </summary>
    public ReclaimResult ReclaimPass(int targetPages) => ReclaimPass(targetPages, ignoreYoung: false);

    /// <summary>
    /// With <paramref name="ignoreYoung"/> the hand goes round once and takes young pages too: the last resort of
    /// direct reclaim when two rounds found nothing cold because the working set is touched faster than the hand
    /// moves (the kernel gets there by dropping the scan priority and deactivating active pages regardless).
    /// </summary>
    internal ReclaimResult ReclaimPass(int targetPages, bool ignoreYoung)
    {
        var frames = Memory.HighWater;
        if (frames <= 1 || targetPages <= 0)
        {
            return default;
        }

        var pass = new ReclaimPassState(targetPages, ignoreYoung);
        for (var budget = (long)(ignoreYoung ? 1 : 2) * frames; budget > 0 && !pass.Done;)
        {
            var (start, end) = ClaimChunk(frames, (int)Math.Min(ScanChunk, budget));
            budget -= end - start;
            for (var i = start; i < end && !pass.Done; i++)
            {
                ShrinkFolio(new Pfn(i), pass);
            }
        }

        return pass.Result();
    }

    /// <summary>
    /// The next chunk of the sweep, for this pass alone: [start, end) after the hand, cut at the last frame (the hand
    /// then wraps to frame 0), so the hand covers every frame once per round however passes interleave.
    /// </summary>
    private (int Start, int End) ClaimChunk(int frames, int length)
    {
        while (true)
        {
            var hand = Volatile.Read(ref _hand);
            var start = hand >= frames ? 0 : hand;
            var end = Math.Min(frames, start + length);
            if (Interlocked.CompareExchange(ref _hand, end == frames ? 0 : end, hand) == hand)
            {
                return (start, end);
            }
        }
    }

    /// <summary>
    /// <c>try_to_free_pages</c>, installed as <see cref="Physical.PhysicalMemory.DirectReclaim"/>: runs on an
    /// allocating thread that found no free frame. True if frames are free now (the allocation is retried).
    /// </summary>
    /// <remarks>
    /// It reclaims until a whole batch is free rather than until one frame is: other threads allocate at the same
    /// time, and the allocator retries only once, so a single freed frame is easily taken before the caller gets
    /// to it. The first pass spares young pages; later passes (the kernel's falling scan priority) take young
    /// pages too, so a working set that is touched faster than the hand moves cannot make reclaim fail while
    /// swap has room. It gives up when such a pass frees nothing.
    /// </remarks>
    public bool DirectReclaim()
    {
        if (_reclaimingOnThisThread)
        {
            return false;
        }

        _reclaimingOnThisThread = true;
        try
        {
            for (var attempt = 0; attempt < MaxDirectReclaimPasses && Memory.FreeFrames < DirectReclaimBatch; attempt++)
            {
                var freed = ReclaimPass(DirectReclaimBatch, ignoreYoung: attempt > 0).FramesFreed;
                if (freed == 0 && attempt > 0)
                {
                    break;
                }
            }

            return Memory.FreeFrames > 0;
        }
        finally
        {
            _reclaimingOnThisThread = false;
        }
    }

    /// <summary>The running totals of one pass.</summary>
    private sealed class ReclaimPassState(int target, bool ignoreYoung)
    {
        public long Scanned;
        public long Young;
        public long SwappedOut;
        public long FileUnmapped;
        public long WrittenBack;
        public long FramesFreed;
        public int Contended;

        /// <summary>Evict young pages too (direct reclaim's last resort).</summary>
        public bool IgnoreYoung { get; } = ignoreYoung;

        /// <summary>Legacy invalidations the <see cref="HostMutations.LegacyInvalidateAfterFree"/> variant makes after the free.</summary>
        public List<PageInvalidation> AfterFree { get; } = [];

        public void FireAfterFree()
        {
            foreach (var inv in AfterFree)
            {
                inv.AfterFree(changed: true);
            }

            AfterFree.Clear();
        }

        public bool Done => FramesFreed >= target;

        public ReclaimResult Result() =>
            new(Scanned, Young, SwappedOut, FileUnmapped, WrittenBack, FramesFreed, Contended);
    }
}
