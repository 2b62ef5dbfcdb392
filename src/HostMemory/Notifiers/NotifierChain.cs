using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;

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
    private readonly Lock _updateLock = new();
    private Subscription[]? _subscriptions;
    private long _openSections;

    internal NotifierChain(AddressSpace mm) => _mm = mm;

    /// <summary><c>mm_has_notifiers</c>: the one check dispatch makes when nobody listens.</summary>
    public bool HasNotifiers => Volatile.Read(ref _subscriptions) is not null;

    public int Count => Volatile.Read(ref _subscriptions)?.Length ?? 0;

    /// <summary>Start/end sections open right now (successful starts without their end yet).</summary>
    public long OpenSections => Interlocked.Read(ref _openSections);

    internal void Add(IMmuNotifier notifier)
    {
        lock (_updateLock)
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

            lock (_updateLock)
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
    /// <c>mmu_notifier_release</c> at exit: every notifier's <see cref="IMmuNotifier.Release"/>, then unhash all,
    /// then a grace period, so that the caller may free the pages once this returns.
    /// </summary>
    internal void ReleaseAll()
    {
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

        lock (_updateLock)
        {
            Volatile.Write(ref _subscriptions, null);
        }

        _srcu.Synchronize();
    }

    /// <summary>
    /// <c>mmu_notifier_invalidate_range_start</c>. Returns false only for a non-blockable range that a notifier
    /// refused: then every notifier whose start succeeded has already been given its end, and the caller must
    /// neither change the PTEs nor call <see cref="InvalidateRangeEnd"/>.
    /// </summary>
    public bool InvalidateRangeStart(in NotifierRange range)
    {
        // The caller's pairing is counted whoever listens: a notifier may come or go between start and end.
        Interlocked.Increment(ref _openSections);
        if (Volatile.Read(ref _subscriptions) is null)
        {
            return true;
        }

        _mm.Host.Count(HostCounter.InvalidateRangeStarts);
        var idx = _srcu.ReadLock();
        try
        {
            // Read the list inside the read section: a list read before it could name a notifier whose
            // unregister has already finished its grace period.
            var subscriptions = Volatile.Read(ref _subscriptions) ?? [];
            var refused = -1;
            for (var i = 0; i < subscriptions.Length; i++)
            {
                if (!subscriptions[i].Notifier.InvalidateRangeStart(_mm, range))
                {
                    if (range.Blockable)
                    {
                        _mm.Host.Violations.Report(ViolationKind.NotifierProtocol, new AccessSite("notifier", -1, range.Start.PageNumber), -1,
                            "a notifier refused a blockable invalidate_range_start");
                    }

                    refused = i;
                    break;
                }
            }

            if (refused < 0)
            {
                return true;
            }

            Interlocked.Decrement(ref _openSections);

            _mm.Host.Count(HostCounter.RefusedStarts);
            // Unwind like mn_hlist_invalidate_range_start: the notifiers that did start get their end.
            for (var i = 0; i < refused; i++)
            {
                subscriptions[i].Notifier.InvalidateRangeEnd(_mm, range);
            }

            return false;
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }
    }

    /// <summary><c>mmu_notifier_invalidate_range_end</c>, after the PTEs of the range were changed.</summary>
    public void InvalidateRangeEnd(in NotifierRange range)
    {
        if (Interlocked.Decrement(ref _openSections) < 0)
        {
            Interlocked.Increment(ref _openSections);
            _mm.Host.Violations.Report(ViolationKind.NotifierProtocol, new AccessSite("notifier", -1, range.Start.PageNumber), -1,
                "invalidate_range_end without a matching start");
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
                s.Notifier.InvalidateRangeEnd(_mm, range);
            }
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
