using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// The MMU notifiers subscribed to one address space (<c>struct mmu_notifier_subscriptions</c>) and the
/// dispatch of every callback to them. Dispatch takes no lock: it reads an immutable array inside an
/// <see cref="SrcuDomain"/> read section; with nothing registered it costs one null check.
/// </summary>
public sealed partial class NotifierChain
{
    private readonly AddressSpace _mm;
    private readonly SrcuDomain _srcu = new();

    // Guards changes to _subscriptions (copy-on-write); readers never take it.
    private readonly ProtocolLock _updateLock = new("mmu_notifier subscriptions lock");
    private Subscription[]? _subscriptions;
    private long _openSections;

    internal NotifierChain(AddressSpace mm) => _mm = mm;

    /// <summary><c>mm_has_notifiers</c>: the one check dispatch makes when nobody listens.</summary>
    public bool HasNotifiers => _hasItree || Volatile.Read(ref _subscriptions) is not null;

    public int Count => Volatile.Read(ref _subscriptions)?.Length ?? 0;

    /// <summary>Start/end sections open right now (successful starts without their end yet).</summary>
    public long OpenSections => Interlocked.Read(ref _openSections);

    internal void Add(IMmuNotifier notifier)
    {
        using (_updateLock.EnterScope())
        {
            var old = _subscriptions ?? [];
            if (old.Any(s => ReferenceEquals(s.Notifier, notifier)))
            {
                throw new InvalidOperationException("The notifier is already registered on this address space.");
            }

            Volatile.Write(ref _subscriptions, [new Subscription(notifier), .. old]);
        }
    }

    /// <summary>
    /// Removes <paramref name="notifier"/>, calling its <see cref="IMmuNotifier.Release"/> first if that has not
    /// run, then waits for a grace period so that no callback of it is running when this returns.
    /// </summary>
    /// <returns>False if it was not registered (already released by exit, or never registered).</returns>
    internal bool Remove(IMmuNotifier notifier, bool waitForCallbacks)
    {
        var subscription = Volatile.Read(ref _subscriptions)?.FirstOrDefault(s => ReferenceEquals(s.Notifier, notifier));
        if (subscription is not null)
        {
            // Like mmu_notifier_unregister: ->release runs under the read section, before the unhash.
            var idx = _srcu.ReadLock();
            try
            {
                subscription.ReleaseOnce(_mm);
            }
            finally
            {
                _srcu.ReadUnlock(idx);
            }

            using (_updateLock.EnterScope())
            {
                // Exit's release may have emptied the list meanwhile; the grace period below is still owed.
                if (_subscriptions is { } current)
                {
                    var remaining = current.Where(s => !ReferenceEquals(s, subscription)).ToArray();
                    Volatile.Write(ref _subscriptions, remaining.Length == 0 ? null : remaining);
                }
            }
        }

        if (waitForCallbacks)
        {
            // "Wait for any running method to finish" (synchronize_srcu in mmu_notifier_unregister).
            _srcu.Synchronize();
        }

        return subscription is not null;
    }

    /// <summary>
    /// <c>mmu_notifier_release</c> at exit: every interval subscription is invalidated over the whole space
    /// (<c>mn_itree_release</c>), then every notifier's <see cref="IMmuNotifier.Release"/>, then all are unhashed,
    /// then a grace period, so that the caller may free the pages once this returns.
    /// </summary>
    internal void ReleaseAll()
    {
        if (_hasItree)
        {
            ItreeRelease();
        }

        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions is null)
        {
            return;
        }

        var idx = _srcu.ReadLock();
        try
        {
            foreach (var s in Volatile.Read(ref _subscriptions) ?? [])
            {
                s.ReleaseOnce(_mm);
            }
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }

        using (_updateLock.EnterScope())
        {
            Volatile.Write(ref _subscriptions, null);
        }

        _srcu.Synchronize();
    }

    /// <summary>
    /// <c>mmu_notifier_invalidate_range_start</c>: interval subscriptions first, then the ordinary notifiers. Returns
    /// false only for a non-blockable range that a subscriber refused: then every ordinary notifier that has an end
    /// has already been given it, and the caller must neither change the PTEs nor call <see cref="InvalidateRangeEnd"/>.
    /// </summary>
    public bool InvalidateRangeStart(in NotifierRange range)
    {
        // The caller's pairing is counted whoever listens: a notifier may come or go between start and end.
        Interlocked.Increment(ref _openSections);
        var hasItree = _hasItree;
        if (!hasItree && Volatile.Read(ref _subscriptions) is null)
        {
            return true;
        }

        _mm.Host.Count(HostCounter.InvalidateRangeStarts);
        // __mmu_notifier_invalidate_range_start: an interval refusal returns at once; the hlist is not called.
        if (hasItree && !ItreeInvalidate(range))
        {
            return Refused();
        }

        if (!HlistInvalidateRangeStart(range))
        {
            if (hasItree)
            {
                // mm/mmu_notifier.c (as read, v6.x) returns here without mn_itree_inv_end, which would leave the
                // interval sequence odd for good (every later read_begin on a hit interval would wait forever); the
                // model closes the interval half too.
                ItreeInvEnd();
            }

            return Refused();
        }

        if (Volatile.Read(ref _subscriptions) is not null)
        {
            WatchWritable(range);
        }

        return true;
    }

    private bool Refused()
    {
        Interlocked.Decrement(ref _openSections);
        _mm.Host.Count(HostCounter.RefusedStarts);
        return false;
    }

    /// <summary>
    /// <c>mmu_notifier_invalidate_range_end</c>, after the PTEs of the range were changed: interval half first
    /// (<c>mn_itree_inv_end</c>), then every ordinary notifier's end.
    /// </summary>
    public void InvalidateRangeEnd(in NotifierRange range)
    {
        if (Interlocked.Decrement(ref _openSections) < 0)
        {
            Interlocked.Increment(ref _openSections);
            Report(range, "invalidate_range_end without a matching start");
            return;
        }

        if (_hasItree)
        {
            ItreeInvEnd();
        }

        if (Volatile.Read(ref _subscriptions) is null)
        {
            return;
        }

        var idx = _srcu.ReadLock();
        try
        {
            foreach (var s in Volatile.Read(ref _subscriptions) ?? [])
            {
                if (s.Notifier.HasInvalidateRangeEnd)
                {
                    s.Notifier.InvalidateRangeEnd(_mm, range);
                }
            }
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }
    }

    /// <summary>
    /// <c>mn_hlist_invalidate_range_start</c>: calls every notifier's start, even after one refused ("there is no way
    /// for a notifier to know if its start method failed"). A refusal under a blockable range, or by a notifier that
    /// has an end, is reported (the kernel's two <c>WARN_ON</c>s). If any refused, every notifier that has an end gets
    /// it now, and false tells the caller not to call end.
    /// </summary>
    private bool HlistInvalidateRangeStart(in NotifierRange range)
    {
        if (Volatile.Read(ref _subscriptions) is null)
        {
            return true;
        }

        var idx = _srcu.ReadLock();
        try
        {
            // Read the list inside the read section: a list read before it could name a notifier whose
            // unregister has already finished its grace period.
            var subscriptions = Volatile.Read(ref _subscriptions) ?? [];
            var refused = false;
            foreach (var s in subscriptions)
            {
                if (s.Notifier.InvalidateRangeStart(_mm, range))
                {
                    continue;
                }

                refused = true;
                if (range.Blockable)
                {
                    Report(range, $"{s.Notifier} refused a blockable invalidate_range_start");
                }

                if (s.Notifier.HasInvalidateRangeEnd)
                {
                    Report(range, $"{s.Notifier} refused invalidate_range_start but implements invalidate_range_end");
                }
            }

            if (!refused)
            {
                return true;
            }

            // "any that succeeded start are expecting their end to be called. Do so now."
            foreach (var s in subscriptions)
            {
                if (s.Notifier.HasInvalidateRangeEnd)
                {
                    s.Notifier.InvalidateRangeEnd(_mm, range);
                }
            }

            return false;
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }
    }

    private sealed class Subscription(IMmuNotifier notifier)
    {
        private int _released;

        public IMmuNotifier Notifier { get; } = notifier;

        public void ReleaseOnce(AddressSpace mm)
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Notifier.Release(mm);
            }
        }
    }
}
