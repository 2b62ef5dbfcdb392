using System.Diagnostics;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// Interval subscriptions (<c>mmu_interval_notifier</c>, mm/mmu_notifier.c's "itree" half): an interval set, the
/// address space's invalidation sequence and active-range count, and the deferred inserts and removes. Interval
/// callbacks run before the ordinary notifiers', at start and at end.
/// </summary>
/// <remarks>
/// The sequence is a collision-retry lock that many writers may hold at once. Even: no section in flight has hit an
/// interval, and the set may change. Odd: at least one has ("fully excluded"): the set is frozen, inserts and removes
/// are queued and applied by the last section's end, which makes the sequence even again and wakes every waiter.
/// </remarks>
public sealed partial class NotifierChain
{
    // subscriptions->lock and subscriptions->wq: guards _invalidateSeq, _activeInvalidateRanges, _itree, _deferred;
    // Monitor.Wait on it is the wait queue. Never held while a callback runs.
    private readonly ProtocolLock _itreeLock = new("interval tree lock");
    private readonly List<IntervalNotifier> _deferred = [];
    private IntervalSet _itree = IntervalSet.Empty;
    private ulong _invalidateSeq = 2;
    private long _activeInvalidateRanges;
    private volatile bool _hasItree;

    [ThreadStatic]
    private static int t_insideIntervalCallback;

    /// <summary><c>subscriptions-&gt;invalidate_seq</c> (diagnostics and tests): odd while a section hit an interval.</summary>
    public ulong IntervalSeq
    {
        get
        {
            using (_itreeLock.EnterScope())
            {
                return _invalidateSeq;
            }
        }
    }

    /// <summary>Interval subscriptions in the set now (deferred inserts not yet counted).</summary>
    public int IntervalCount => Volatile.Read(ref _itree).Count;

    /// <summary>Inserts and removes waiting for the last section in flight to end.</summary>
    public int DeferredIntervalUpdates
    {
        get
        {
            using (_itreeLock.EnterScope())
            {
                return _deferred.Count;
            }
        }
    }

    /// <summary>
    /// <c>mmu_interval_notifier_insert</c>: watch [<paramref name="start"/>, start + length) with
    /// <paramref name="ops"/>. Caller holds a user of the address space (<c>mmget</c>). If invalidations are in flight
    /// the new subscription may not be in the set yet (it is added by the last end), and its first
    /// <see cref="IntervalNotifier.ReadBegin"/> waits for them, since they may cover it.
    /// </summary>
    public IntervalNotifier InsertInterval(Hva start, ulong length, IIntervalNotifierOps ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (length == 0 || start.Value > ulong.MaxValue - (length - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"interval at {start} of {length} bytes overflows (-EOVERFLOW)");
        }

        if (_mm.Users <= 0)
        {
            throw new InvalidOperationException($"cannot insert an interval notifier on '{_mm.Name}': it has no users (mmget first)");
        }

        if (!_hasItree)
        {
            // mmu_notifier_register(NULL, mm): itree mode is switched on under the mmap write lock and
            // mm_take_all_locks, which between them exclude every start/end section (faults and munmap run theirs
            // under the mmap lock, rmap walkers under the rmap locks), so no section sees half of it.
            using var _ = _mm.WriteLock();
            using var all = _mm.TakeAllRmapLocks();
            _hasItree = true;
        }

        var sub = new IntervalNotifier(this, start, start.Value + (length - 1), ops);
        using (_itreeLock.EnterScope())
        {
            if (_activeInvalidateRanges != 0)
            {
                if (IsInvalidating)
                {
                    _deferred.Add(sub); // the set is frozen: mn_itree_inv_end adds it
                }
                else
                {
                    _invalidateSeq |= 1;
                    InsertNow(sub);
                }

                // We do not know which ranges the sections in flight cover: the first read_begin must wait for them.
                sub.InitSeq(_invalidateSeq);
            }
            else
            {
                Debug.Assert(!IsInvalidating, "with no section in flight the interval sequence is even");
                // Odd and different from the current sequence: read_begin does not wait.
                sub.InitSeq(_invalidateSeq - 1);
                InsertNow(sub);
            }
        }

        return sub;
    }

    /// <summary><c>subscriptions-&gt;lock</c> is held; for <see cref="IntervalNotifier"/>.</summary>
    private bool IsInvalidating => (_invalidateSeq & 1) != 0;

    internal AddressSpaces.AddressSpace Mm => _mm;

    internal ulong ReadBegin(IntervalNotifier sub)
    {
        ulong seq;
        bool invalidating;
        using (_itreeLock.EnterScope())
        {
            seq = sub.InvalidateSeq;
            invalidating = seq == _invalidateSeq;
        }

        if (invalidating)
        {
            using (_itreeLock.EnterScope())
            {
                // Named wait: an invalidation that hit this interval (or was in flight at its insert) has not ended.
                while (_invalidateSeq == seq)
                {
                    _itreeLock.Wait();
                }
            }
        }

        return seq;
    }

    internal void RemoveInterval(IntervalNotifier sub)
    {
        Debug.Assert(t_insideIntervalCallback == 0, "mmu_interval_notifier_remove must not be called from an interval callback: it would wait for itself");
        ulong seq = 0;
        using (_itreeLock.EnterScope())
        {
            if (sub.Removed)
            {
                throw new InvalidOperationException($"{sub} was already removed");
            }

            if (IsInvalidating)
            {
                if (!sub.InTree)
                {
                    _deferred.Remove(sub); // inserted during this invalidation and never added: just forget it
                }
                else
                {
                    _deferred.Add(sub);
                    seq = _invalidateSeq;
                }
            }
            else
            {
                Debug.Assert(sub.InTree, "a subscription not being invalidated is in the set");
                RemoveNow(sub);
            }
        }

        if (seq != 0)
        {
            using (_itreeLock.EnterScope())
            {
                // Named wait: callbacks of the sections in flight may still run on this subscription.
                while (_invalidateSeq == seq)
                {
                    _itreeLock.Wait();
                }
            }
        }

        sub.Removed = true;
    }

    /// <summary>
    /// <c>mn_itree_invalidate</c>: mark the sections' start, call every overlapping interval. On a refusal under a
    /// non-blockable range, end the section here and report false; a refusal under a blockable range is a violation
    /// and is ignored (<c>WARN_ON</c> and continue).
    /// </summary>
    private bool ItreeInvalidate(in NotifierRange range)
    {
        IntervalNotifier[] hits;
        ulong currentSeq;
        using (_itreeLock.EnterScope())
        {
            _activeInvalidateRanges++;
            hits = _itree.Overlapping(range.Start.Value, range.End.Value - 1);
            if (hits.Length != 0)
            {
                _invalidateSeq |= 1;
            }

            currentSeq = _invalidateSeq;
        }

        foreach (var sub in hits)
        {
            if (!CallInterval(sub, range, currentSeq))
            {
                if (range.Blockable)
                {
                    Report(range, "an interval notifier refused a blockable invalidation");
                    continue;
                }

                // "On -EAGAIN the non-blocking caller is not allowed to call invalidate_range_end()".
                ItreeInvEnd();
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>mn_itree_inv_end</c>: the last section in flight makes the sequence even, applies the deferred inserts and
    /// removes, and wakes <c>read_begin</c> and <c>remove</c> waiters.
    /// </summary>
    private void ItreeInvEnd()
    {
        using (_itreeLock.EnterScope())
        {
            if (_activeInvalidateRanges == 0)
            {
                return; // a section whose start ran before the first interval was inserted
            }

            if (--_activeInvalidateRanges != 0 || !IsInvalidating)
            {
                return;
            }

            _invalidateSeq++;
            foreach (var sub in _deferred)
            {
                if (!sub.InTree)
                {
                    InsertNow(sub);
                }
                else
                {
                    RemoveNow(sub);
                }
            }

            _deferred.Clear();
            _itreeLock.PulseAll();
        }
    }

    /// <summary>
    /// <c>mn_itree_release</c> at exit: every interval is invalidated over the whole address space with
    /// <see cref="NotifierEvent.Release"/>, blockable; a refusal is a violation.
    /// </summary>
    private void ItreeRelease()
    {
        var range = new NotifierRange(new Hva(0), new Hva(ulong.MaxValue), NotifierEvent.Release, InvalidationCause.Exit);
        if (!ItreeInvalidate(range))
        {
            return; // cannot happen for a blockable range; ItreeInvalidate reported it
        }

        ItreeInvEnd();
    }

    private bool CallInterval(IntervalNotifier sub, in NotifierRange range, ulong currentSeq)
    {
        if (sub.Removed)
        {
            Report(range, $"{sub}: a callback after mmu_interval_notifier_remove returned");
        }

        t_insideIntervalCallback++;
        try
        {
            return sub.Ops.Invalidate(sub, range, currentSeq);
        }
        finally
        {
            t_insideIntervalCallback--;
        }
    }

    private void InsertNow(IntervalNotifier sub)
    {
        Volatile.Write(ref _itree, _itree.Insert(sub));
        sub.InTree = true;
    }

    private void RemoveNow(IntervalNotifier sub)
    {
        Volatile.Write(ref _itree, _itree.Remove(sub));
        sub.InTree = false;
    }

    private void Report(in NotifierRange range, string detail) =>
        _mm.Host.Violations.Report(ViolationKind.NotifierProtocol, new AccessSite("notifier", -1, range.Start.PageNumber), -1, detail);
}
