using System.Numerics;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Page reclaim: a clock hand sweeps the page tables of every live address space, ages each mapped page, and
/// evicts the cold ones (anonymous pages to swap, page-cache pages back to their file). Used by kswapd
/// (<see cref="ReclaimDaemon"/>), by direct reclaim (<see cref="DirectReclaim"/>, installed in
/// <see cref="Physical.PhysicalMemory.DirectReclaim"/>) and by the scenario's <c>reclaim</c> activity.
/// </summary>
/// <remarks>
/// <para>
/// Why scan page tables instead of keeping a reverse map: the frame table costs 16 bytes a frame and the
/// simulation must scale to hundreds of GiB, so no per-frame list of mappings (<c>anon_vma</c> chains) is kept.
/// Linux 2.4's <c>swap_out</c> and MGLRU's <c>walk_mm</c> work the same way: walk each mm's page tables in
/// clock order, age what is mapped, unmap what is cold. The cost is that a page mapped twice (after fork) is
/// unmapped one PTE at a time as the hand reaches each mapping, and freed with its last one; the operations
/// that need every mapping at once (migration, writeback) find them from the VMAs instead (see
/// <see cref="FileMappings"/>).
/// </para>
/// <para>
/// Locking: the mmap lock of one space at a time, for read and without waiting (busy spaces are skipped, like
/// <c>mmap_read_trylock</c> in <c>walk_mm</c>); page-table locks only around the entry changes; notifiers with
/// no page-table lock held. Every decision taken from an unlocked read is re-checked under the page-table lock,
/// so concurrent passes (kswapd and several direct reclaimers) need no lock of their own.
/// </para>
/// </remarks>
public sealed partial class ReclaimScanner
{
    // PF_MEMALLOC: a thread that is already reclaiming never re-enters reclaim from an allocation.
    [ThreadStatic]
    private static bool _reclaimingOnThisThread;

    // Passes one direct-reclaim call may run (the kernel's MAX_RECLAIM_RETRIES).
    private const int MaxDirectReclaimPasses = 16;

    private readonly HostSystem _host;
    private readonly PageAging _aging;

    // Guards the clock hand: _handSpace and _handVpn, where the next pass starts.
    private readonly Lock _handLock = new();
    private AddressSpace? _handSpace;
    private ulong _handVpn;

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
        var spaces = _host.LiveAddressSpaces();
        if (spaces.Count == 0 || targetPages <= 0)
        {
            return default;
        }

        AddressSpace? handSpace;
        ulong vpn;
        lock (_handLock)
        {
            handSpace = _handSpace;
            vpn = _handVpn;
        }

        var index = handSpace is null ? -1 : IndexOf(spaces, handSpace);
        if (index < 0)
        {
            index = 0;
            vpn = 0;
        }

        using var pass = new ReclaimPassState(targetPages, _host.Swap, ignoreYoung);
        // Twice round everything (once when ignoring youth); starting mid-space, the first space is visited once
        // more to finish the round.
        var rounds = ignoreYoung ? 1 : 2;
        for (var visits = (rounds * spaces.Count) + (vpn == 0 ? 0 : 1); visits > 0; visits--)
        {
            var stoppedAt = ScanSpace(spaces[index], vpn, pass);
            if (pass.Done)
            {
                vpn = stoppedAt;
                break;
            }

            index = (index + 1) % spaces.Count;
            vpn = 0;
        }

        lock (_handLock)
        {
            _handSpace = spaces[index];
            _handVpn = vpn;
        }

        return pass.Result();
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
            for (var attempt = 0; attempt < MaxDirectReclaimPasses && _host.Memory.FreeFrames < DirectReclaimBatch; attempt++)
            {
                var freed = ReclaimPass(DirectReclaimBatch, ignoreYoung: attempt > 0).FramesFreed;
                if (freed == 0 && attempt > 0)
                {
                    break;
                }
            }

            return _host.Memory.FreeFrames > 0;
        }
        finally
        {
            _reclaimingOnThisThread = false;
        }
    }

    /// <summary>Scans one space from <paramref name="fromVpn"/>; returns where the hand stopped if the target was met.</summary>
    private ulong ScanSpace(AddressSpace mm, ulong fromVpn, ReclaimPassState pass)
    {
        if (!mm.TryEnterScan(out var scope))
        {
            pass.SkippedSpaces++;
            return 0;
        }

        using (scope)
        {
            if (mm.IsDead)
            {
                return 0;
            }

            foreach (var vma in mm.VmasLocked)
            {
                // Shared memory has no swap entry for a shared mapping in this model: it is never evicted.
                if (vma.End.PageNumber <= fromVpn || vma.File is { IsShmem: true })
                {
                    continue;
                }

                var start = Math.Max(fromVpn, vma.Start.PageNumber);
                for (var walk = new TableWalk(mm.PageTable, start, vma.End.PageNumber); walk.MoveNext();)
                {
                    for (var j = walk.From; j < walk.To; j = (j | 63) + 1)
                    {
                        var segment = _aging.AgeSegment(mm, walk.Table, walk.BaseVpn, j, Math.Min(walk.To, (j | 63) + 1));
                        pass.Scanned += BitOperations.PopCount(segment.Mapped);
                        pass.Young += BitOperations.PopCount(segment.Young);
                        var cold = pass.IgnoreYoung ? segment.Mapped : segment.Mapped & ~segment.Young;
                        for (; cold != 0; cold &= cold - 1)
                        {
                            var entry = (j & ~63) + BitOperations.TrailingZeroCount(cold);
                            var vpn = walk.BaseVpn + (ulong)entry;
                            TryEvict(mm, vma, walk.Table, entry, vpn, pass);
                            if (pass.Done)
                            {
                                return vpn + 1;
                            }
                        }
                    }
                }
            }
        }

        return 0;
    }

    private static int IndexOf(IReadOnlyList<AddressSpace> spaces, AddressSpace mm)
    {
        for (var i = 0; i < spaces.Count; i++)
        {
            if (ReferenceEquals(spaces[i], mm))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The running totals of one pass and its swap batch.</summary>
    private sealed class ReclaimPassState(int target, Physical.SwapDevice swap, bool ignoreYoung) : IDisposable
    {
        public long Scanned;
        public long Young;
        public long SwappedOut;
        public long FileUnmapped;
        public long WrittenBack;
        public long FramesFreed;
        public int SkippedSpaces;

        public SwapOutBatch Swap { get; } = new(swap);

        /// <summary>Evict young pages too (direct reclaim's last resort).</summary>
        public bool IgnoreYoung { get; } = ignoreYoung;

        public bool Done => FramesFreed >= target;

        public ReclaimResult Result() =>
            new(Scanned, Young, SwappedOut, FileUnmapped, WrittenBack, FramesFreed, SkippedSpaces);

        public void Dispose() => Swap.Dispose();
    }
}
