using Hypervisor.HostMemory;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Gru;

/// <summary>The coprocessor's accesses, its TLB misses and the two drop-in paths.</summary>
public sealed partial class GruDeviceTlb
{
    private const ulong WriteBit = 1;

    /// <summary>
    /// A GRU instruction touching one word at <paramref name="hva"/>: a TLB hit uses the entry; a miss takes the
    /// atomic drop-in (interrupt path) and, if that cannot proceed, the sleeping user drop-in, then retries.
    /// </summary>
    public HostStatus Access(Hva hva, bool write, ulong value, out ulong read)
    {
        read = 0;
        var vpn = hva.PageNumber;
        while (true)
        {
            using (_tlbLock.EnterScope())
            {
                if (_tlb.TryGetValue(vpn, out var entry) && (!write || (entry & WriteBit) != 0))
                {
                    var pfn = new Pfn((int)(entry >> 1));
                    if (write)
                    {
                        _memory.Write(pfn, vpn, value);
                    }
                    else
                    {
                        read = _memory.Read(pfn, vpn);
                    }

                    return HostStatus.Ok;
                }
            }

            if (_released)
            {
                return HostStatus.Dead;
            }

            var status = TryDropin(hva, write, atomic: true);
            if (status == DropinStatus.UserPolling)
            {
                Interlocked.Increment(ref _userFallbacks);
                status = TryDropin(hva, write, atomic: false);
            }

            if (status == DropinStatus.Failed)
            {
                return HostStatus.NoVma;
            }

            if (status == DropinStatus.Killed)
            {
                Statistics.Retried(); // the instruction restarts
            }
        }
    }

    /// <summary>
    /// <c>gru_try_dropin</c>: atomic (interrupt) variant: refuse while a range invalidation is active and look the
    /// PTE up without faulting; user variant: wait until no range is active, then <c>get_user_pages</c> (faults the
    /// page in) and put the page at once. Either way the result is installed only if no purge killed it meanwhile.
    /// </summary>
    private DropinStatus TryDropin(Hva hva, bool write, bool atomic)
    {
        var dropin = new Dropin(hva.PageNumber);
        using (_tlbLock.EnterScope())
        {
            _inFlight.Add(dropin);
        }

        try
        {
            ulong entry;
            if (atomic)
            {
                // rmb; if (atomic_read(&gms->ms_range_active)) goto failactive;
                if (Volatile.Read(ref _rangeActive) != 0)
                {
                    return DropinStatus.UserPolling;
                }

                var pte = Mm.PteOf(hva); // atomic_pte_lookup: present, and writable+dirty for a write
                if (!Pte.IsPresent(pte) || (write && !Pte.IsWritable(pte)))
                {
                    return DropinStatus.UserPolling;
                }

                entry = ((ulong)Pte.PfnOf(pte).Value << 1) | (Pte.IsWritable(pte) ? WriteBit : 0);
            }
            else
            {
                using (_rangeWait.EnterScope())
                {
                    // Named wait: wait_event(gms->ms_wait_queue, atomic_read(&gms->ms_range_active) == 0).
                    while (Volatile.Read(ref _rangeActive) != 0)
                    {
                        _rangeWait.Wait();
                    }
                }

                var gup = Mm.GetUserPages(hva, write);
                if (gup.Status != HostStatus.Ok)
                {
                    return DropinStatus.Failed;
                }

                Mm.Host.Memory.Put(gup.Pfn); // non_atomic_pte_lookup keeps no reference
                entry = ((ulong)gup.Pfn.Value << 1) | (gup.Writable ? WriteBit : 0);
            }

            AfterLookup?.Invoke(hva);
            using (_tlbLock.EnterScope())
            {
                if (dropin.Killed)
                {
                    Interlocked.Increment(ref _killed);
                    return DropinStatus.Killed; // the hardware ignores the drop-in; the instruction restarts
                }

                _tlb[dropin.Vpn] = entry; // tfh_write_restart
            }

            Statistics.Faulted();
            return DropinStatus.Installed;
        }
        finally
        {
            using (_tlbLock.EnterScope())
            {
                _inFlight.Remove(dropin);
            }
        }
    }

    /// <summary>
    /// The checker's rule for this kind: every TLB entry maps the frame the primary maps (entries are purged at an
    /// invalidation's start, so none may lag, except for the 2008 single-page window; see <see cref="CoherenceCheck"/>).
    /// Reports and counts mismatches.
    /// </summary>
    public int CheckCoherence() => CoherenceCheck.Run(Mm, $"gru:{Name}", () =>
    {
        var found = new List<Mismatch>();
        using (_tlbLock.EnterScope())
        {
            foreach (var (vpn, entry) in _tlb)
            {
                var pte = Mm.PteOf(Hva.FromPage(vpn));
                var pfn = (int)(entry >> 1);
                if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).Value != pfn)
                {
                    found.Add(new Mismatch(vpn, entry, pfn, MirrorViolations.StaleMapping, $"TLB entry maps pfn {pfn}, the primary maps 0x{pte:x}"));
                }
            }
        }

        return found;
    });

    private enum DropinStatus
    {
        Installed,
        Killed,
        UserPolling,
        Failed,
    }
}
