using System.Diagnostics;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Vms;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>
/// One VM's invalidation state as KVM keeps it in <c>struct kvm</c>: <c>mmu_invalidate_seq</c>,
/// <c>mmu_invalidate_in_progress</c> and <c>mmu_invalidate_range_start/end</c>, with the functions that change and
/// test them (<c>kvm_mmu_invalidate_begin</c>, <c>_range_add</c>, <c>_end</c>, <c>mmu_invalidate_retry_gfn</c>,
/// <c>mmu_invalidate_retry_gfn_unsafe</c>), each mirroring the kernel's line for line.
/// </summary>
/// <remarks>
/// Writes happen under the MMU lock held for write; the locked check runs under it held for read or write, where
/// every field is stable. <see cref="Seq"/> and the unsafe check are the only lockless reads. The broken variants
/// that skip a check or swap the end's order are applied here, so that each check exists once.
/// </remarks>
internal sealed class MmuInvalidation(MmuLock mmuLock, ShadowMutations mutations, SeqCounterMode seqMode = SeqCounterMode.UnderLock,
    int preemptInSeqUpdateEvery = 0, Action? betweenSeqLoadAndStore = null)
{
    /// <summary><c>INVALID_GPA</c>: no range recorded yet.</summary>
    public const ulong InvalidGfn = ulong.MaxValue;

    private readonly bool _checkInProgress = (mutations & ShadowMutations.NoInProgressCheck) == 0;
    private readonly bool _checkSeq = (mutations & ShadowMutations.NoSeqCheck) == 0;
    private readonly bool _endOrderSwapped = (mutations & ShadowMutations.EndOrderSwapped) != 0;

    private long _seq;
    private long _inProgress;
    private ulong _rangeStart = InvalidGfn;
    private ulong _rangeEnd = InvalidGfn;

    // The masked window: Stopwatch ticks during which a fault on an invalidated gfn had to retry (in-progress above
    // zero, or a legacy invalidate_page holding the lock). Written under the MMU write lock, read with Volatile.
    private long _maskedSince;
    private long _maskedTicks;
    private long _maskedWindows;
    private long _seqUpdates;

    /// <summary>How the sequence is raised (see <see cref="SeqCounterMode"/>).</summary>
    public SeqCounterMode SeqMode => seqMode;

    /// <summary>Total Stopwatch ticks of masked windows so far (see <see cref="AddMaskedWindow"/>).</summary>
    public long MaskedTicks => Volatile.Read(ref _maskedTicks);

    /// <summary>Masked windows so far: sections from the first begin to the last end, plus legacy single-page calls.</summary>
    public long MaskedWindows => Volatile.Read(ref _maskedWindows);

    /// <summary>
    /// <c>mmu_invalidate_seq</c>, read with acquire: the fault path's <c>fault-&gt;mmu_seq = kvm-&gt;mmu_invalidate_seq;
    /// smp_rmb()</c>. An acquire load orders every later load after it, which is all <c>smp_rmb</c> promises.
    /// </summary>
    public long Seq => Volatile.Read(ref _seq);

    /// <summary><c>mmu_invalidate_in_progress</c>, read without the lock (statistics and end-of-run checks).</summary>
    public long InProgress => Volatile.Read(ref _inProgress);

    /// <summary>The union of the open sections' gfn ranges, or null when none is open. Caller holds the MMU lock.</summary>
    public (ulong Start, ulong End)? Range
    {
        get
        {
            Debug.Assert(mmuLock.IsHeld, "the invalidation range is read under kvm->mmu_lock");
            return _inProgress > 0 && _rangeStart != InvalidGfn ? (_rangeStart, _rangeEnd) : null;
        }
    }

    /// <summary><c>kvm_mmu_invalidate_begin</c>. Caller holds the MMU lock for write.</summary>
    public void Begin()
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "kvm_mmu_invalidate_begin: lockdep_assert_held_write(&kvm->mmu_lock)");
        // "The count increase must become visible at unlock time as no spte can be established without taking the
        // mmu_lock and count is also read inside the mmu_lock critical section."
        Volatile.Write(ref _inProgress, _inProgress + 1);
        SchedulingPoint.Atomic("kvm_mmu_invalidate_begin");
        if (_inProgress == 1)
        {
            _rangeStart = InvalidGfn;
            _rangeEnd = InvalidGfn;
            _maskedSince = Stopwatch.GetTimestamp();
        }
    }

    /// <summary><c>kvm_mmu_invalidate_range_add</c>. Caller holds the MMU lock for write, inside a begun section.</summary>
    public void AddRange(ulong start, ulong end)
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "kvm_mmu_invalidate_range_add: lockdep_assert_held_write(&kvm->mmu_lock)");
        Debug.Assert(_inProgress > 0, "kvm_mmu_invalidate_range_add: WARN_ON_ONCE(!kvm->mmu_invalidate_in_progress)");
        if (_rangeStart == InvalidGfn)
        {
            _rangeStart = start;
            _rangeEnd = end;
        }
        else
        {
            // "Fully tracking multiple concurrent ranges has diminishing returns. Keep things simple and just find
            // the minimal range which includes the current and new ranges."
            _rangeStart = Math.Min(_rangeStart, start);
            _rangeEnd = Math.Max(_rangeEnd, end);
        }
    }

    /// <summary>
    /// <c>kvm_mmu_invalidate_end</c>: seq++, then (release) in-progress--. Caller holds the MMU lock for write.
    /// </summary>
    /// <returns>False if in-progress would have gone below zero (<c>KVM_BUG_ON</c>); it is left at zero then.</returns>
    public bool End()
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "kvm_mmu_invalidate_end: lockdep_assert_held_write(&kvm->mmu_lock)");
        var balanced = _inProgress > 0;
        if (_endOrderSwapped)
        {
            // The broken variant: the count decrease is published before the sequence increase.
            Volatile.Write(ref _inProgress, Math.Max(_inProgress - 1, 0));
            SchedulingPoint.Window("kvm_mmu_invalidate_end");
            Volatile.Write(ref _seq, _seq + 1);
        }
        else
        {
            // "This sequence increase will notify the kvm page fault that the page that is going to be mapped in
            // the spte could have been freed." The release store of the count below is the smp_wmb: "The above
            // sequence increase must be visible before the below count decrease." In the other modes the increase
            // was made before the lock was taken (IncrementSeqOutsideLock), which still precedes the decrease.
            if (seqMode == SeqCounterMode.UnderLock)
            {
                Volatile.Write(ref _seq, _seq + 1);
            }

            SchedulingPoint.Window("kvm_mmu_invalidate_end");
            Volatile.Write(ref _inProgress, Math.Max(_inProgress - 1, 0));
        }

        if (balanced && _inProgress == 0)
        {
            AddMaskedWindow(Stopwatch.GetTimestamp() - _maskedSince);
        }

        // "Assert that at least one range was added between start() and end()." (An unbalanced end, which only a
        // broken host or a late callback of an unregistered notifier produces, is reported by the caller instead.)
        Debug.Assert(!balanced || _rangeStart != InvalidGfn, "kvm_mmu_invalidate_end: no range was added since begin");
        return balanced;
    }

    /// <summary>
    /// The legacy <c>kvm_mmu_notifier_invalidate_page</c>'s <c>kvm-&gt;mmu_notifier_seq++</c> (no section around it),
    /// and the bump a re-registration makes so faults that sampled before it retry. Caller holds the MMU lock for write.
    /// </summary>
    public void BumpSeq()
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "the sequence moves under kvm->mmu_lock held for write");
        if (seqMode == SeqCounterMode.UnderLock)
        {
            Volatile.Write(ref _seq, _seq + 1);
        }
    }

    /// <summary>
    /// The sequence increase of an end or a legacy <c>invalidate_page</c> in the modes that make it before taking
    /// the MMU lock (<see cref="SeqCounterMode.AtomicOutsideLock"/>, <see cref="SeqCounterMode.PlainOutsideLock"/>);
    /// nothing in the kernel's mode, where <see cref="End"/> and <see cref="BumpSeq"/> make it under the lock. Caller
    /// does not hold the MMU lock.
    /// </summary>
    public void IncrementSeqOutsideLock()
    {
        switch (seqMode)
        {
            case SeqCounterMode.AtomicOutsideLock:
                Interlocked.Increment(ref _seq); // atomic_inc: a full barrier, no update lost
                break;
            case SeqCounterMode.PlainOutsideLock:
                // seq++ as a load and a store: another end between the two is lost.
                var loaded = Volatile.Read(ref _seq);
                betweenSeqLoadAndStore?.Invoke();
                if (preemptInSeqUpdateEvery > 0 && Interlocked.Increment(ref _seqUpdates) % preemptInSeqUpdateEvery == 0)
                {
                    SchedulingPoint.Yield("mmu_invalidate_seq++ load→store");
                }

                Volatile.Write(ref _seq, loaded + 1);
                break;
        }
    }

    /// <summary>Adds one masked window of <paramref name="ticks"/>. Caller holds the MMU lock for write.</summary>
    public void AddMaskedWindow(long ticks)
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "the masked-window totals are written under kvm->mmu_lock held for write");
        Volatile.Write(ref _maskedTicks, _maskedTicks + ticks);
        Volatile.Write(ref _maskedWindows, _maskedWindows + 1);
    }

    /// <summary>
    /// Forgets sections whose end will never come (the notifier was unregistered), as <c>kvm_destroy_vm</c> resets an
    /// unbalanced count, and bumps the sequence so faults in flight retry. Caller holds the MMU lock for write.
    /// </summary>
    public void Reset()
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "the invalidation state is reset under kvm->mmu_lock held for write");
        Volatile.Write(ref _inProgress, 0);
        _rangeStart = InvalidGfn;
        _rangeEnd = InvalidGfn;
        Volatile.Write(ref _seq, _seq + 1);
    }

    /// <summary>
    /// <c>mmu_invalidate_retry_gfn</c>: true if an invalidation covering <paramref name="gfn"/> is in progress or the
    /// sequence moved since <paramref name="mmuSeq"/> was sampled. Caller holds the MMU lock (read or write).
    /// </summary>
    public bool RetryGfn(long mmuSeq, ulong gfn, out RetryReason reason)
    {
        Debug.Assert(mmuLock.IsHeld, "mmu_invalidate_retry_gfn: lockdep_assert_held(&kvm->mmu_lock)");
        // "If mmu_invalidate_in_progress is non-zero, then the range maintained by
        // kvm_mmu_notifier_invalidate_range_start contains the pfn that is being invalidated, and the caller must retry."
        if (_checkInProgress && _inProgress != 0)
        {
            // "Dropping mmu_lock after bumping mmu_invalidate_in_progress but before updating the range is a KVM bug."
            Debug.Assert(_rangeStart != InvalidGfn && _rangeEnd != InvalidGfn, "a section is open with no range added");
            if (_rangeStart == InvalidGfn || _rangeEnd == InvalidGfn || (gfn >= _rangeStart && gfn < _rangeEnd))
            {
                reason = RetryReason.InvalidationInProgress;
                return true;
            }
        }

        if (_checkSeq && _seq != mmuSeq)
        {
            reason = RetryReason.SequenceChanged;
            return true;
        }

        reason = default;
        return false;
    }

    /// <summary>
    /// <c>mmu_invalidate_retry_gfn_unsafe</c>: the same test without the lock, as a pre-check that spares a fault
    /// bound to retry the MMU lock. "This version *will* get false negatives and false positives": it must be
    /// followed by <see cref="RetryGfn"/> under the lock before anything is installed.
    /// </summary>
    public bool RetryGfnUnsafe(long mmuSeq, ulong gfn)
    {
        // READ_ONCE on the count and the sequence, so a loop of pre-checks sees the 1 => 0 transition; plain loads of
        // the range ("false negatives due to range invalidation is unavoidable").
        if (_checkInProgress && Volatile.Read(ref _inProgress) != 0 && gfn >= _rangeStart && gfn < _rangeEnd)
        {
            return true;
        }

        return _checkSeq && Volatile.Read(ref _seq) != mmuSeq;
    }
}
