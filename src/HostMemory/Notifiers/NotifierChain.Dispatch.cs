namespace Hypervisor.HostMemory.Notifiers;

/// <summary>The single-page and aging callbacks.</summary>
public sealed partial class NotifierChain
{
    /// <summary>
    /// Legacy profile: <c>mmu_notifier_invalidate_page</c> after the PTE change, before the free. Interval
    /// subscriptions get a one-page section instead.
    /// </summary>
    public void InvalidatePage(Hva hva, InvalidationCause cause)
    {
        if (_hasItree)
        {
            // Interval subscriptions postdate invalidate_page and have no single-page callback: they get a one-page
            // section (invalidate, then the end), still before the old page is freed.
            var range = NotifierRange.OnePage(hva, NotifierEvent.Clear, cause);
            if (ItreeInvalidate(range))
            {
                ItreeInvEnd();
            }
        }

        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions is null)
        {
            return;
        }

        _mm.Host.Count(HostCounter.InvalidatePages);
        var idx = _srcu.ReadLock();
        try
        {
            foreach (var s in Volatile.Read(ref _subscriptions) ?? [])
            {
                s.Notifier.InvalidatePage(_mm, hva, cause);
            }
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }
    }

    /// <summary><c>mmu_notifier_clear_flush_young</c>: the OR of every notifier's answer.</summary>
    public bool ClearFlushYoung(Hva start, Hva end) => Age(start, end, flush: true);

    /// <summary><c>mmu_notifier_clear_young</c>: the OR of every notifier's answer, no flush required.</summary>
    public bool ClearYoung(Hva start, Hva end) => Age(start, end, flush: false);

    /// <summary><c>mmu_notifier_test_young</c>: stops at the first notifier that reports young.</summary>
    public bool TestYoung(Hva hva)
    {
        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions is null)
        {
            return false;
        }

        var idx = _srcu.ReadLock();
        try
        {
            foreach (var s in Volatile.Read(ref _subscriptions) ?? [])
            {
                if (s.Notifier.TestYoung(_mm, hva))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }
    }

    private bool Age(Hva start, Hva end, bool flush)
    {
        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions is null)
        {
            return false;
        }

        var young = false;
        var idx = _srcu.ReadLock();
        try
        {
            foreach (var s in Volatile.Read(ref _subscriptions) ?? [])
            {
                young |= flush ? s.Notifier.ClearFlushYoung(_mm, start, end) : s.Notifier.ClearYoung(_mm, start, end);
            }
        }
        finally
        {
            _srcu.ReadUnlock(idx);
        }

        return young;
    }
}
