using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.ShadowMmu.Vms;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>
/// An independent witness of the notifier protocol for one VM: it keeps the exact hva ranges of the open start/end
/// sections (not KVM's widened gfn union, and not the counters the mutations can break) and checks every install
/// against them and against the host PTE.
/// </summary>
/// <remarks>
/// Sections open and close under the MMU write lock and the monitor's own lock; SPTE installs are checked under the
/// MMU read lock, pfn-cache refreshes (which never take the MMU lock) under the monitor's lock, so the list is stable
/// while either reads it. With no section open, the host cannot change a PTE's pfn (every such change is inside a
/// section under the modern profile), which makes the host-PTE comparison exact there.
/// </remarks>
internal sealed class ProtocolMonitor(string guest, AddressSpace mm, ViolationLog violations, MmuLock mmuLock)
{
    private readonly List<(Hva Start, Hva End)> _open = [];

    // Second guard of _open, for readers that do not hold the MMU lock (the pfn caches). Taken inside the MMU lock.
    private readonly ProtocolLock _lock = new("protocol monitor lock");

    /// <summary>A start/end section opens. Caller holds the MMU lock for write.</summary>
    public void Open(in NotifierRange range)
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "sections open under the MMU write lock");
        using (_lock.EnterScope())
        {
            _open.Add((range.Start, range.End));
        }
    }

    /// <summary>A start/end section closes. Caller holds the MMU lock for write.</summary>
    public void Close(in NotifierRange range)
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "sections close under the MMU write lock");
        using (_lock.EnterScope())
        {
            CloseLocked(range);
        }
    }

    /// <summary>Forgets open sections whose end will never come (the notifier was unregistered). Caller holds the MMU lock for write.</summary>
    public void Reset()
    {
        Debug.Assert(mmuLock.IsHeldForWrite, "sections are forgotten under the MMU write lock");
        using (_lock.EnterScope())
        {
            _open.Clear();
        }
    }

    /// <summary>Checks an SPTE install that is about to happen. Caller holds the MMU lock (read).</summary>
    public void CheckInstall(ulong gfn, Hva hva, Pfn pfn, int vcpu)
    {
        Debug.Assert(mmuLock.IsHeld, "an install is checked under the MMU lock, which keeps the open sections stable");
        Check(gfn, hva, pfn, vcpu, "installed");
    }

    /// <summary>
    /// Checks a pfn cache that is about to become valid (<c>hva_to_pfn_retry</c>'s success). The caller holds the
    /// cache's lock for write, so no new section can change the host PTE at <paramref name="hva"/> meanwhile (a
    /// start invalidates the caches under that lock before it returns to the host).
    /// </summary>
    public void CheckCacheRefresh(ulong gfn, Hva hva, Pfn pfn, int vcpu)
    {
        using (_lock.EnterScope())
        {
            Check(gfn, hva, pfn, vcpu, "cached by a pfn cache");
        }
    }

    /// <summary>True if an open section covers <paramref name="hva"/>. Caller holds the MMU lock.</summary>
    public bool Covers(Hva hva)
    {
        Debug.Assert(mmuLock.IsHeld, "the open sections are stable under the MMU lock");
        lock (_lock)
        {
            foreach (var (start, end) in _open)
            {
                if (hva >= start && hva < end)
                {
                    return true;
                }
            }

            return false;
        }
    }

    private void CloseLocked(in NotifierRange range)
    {
        var index = _open.IndexOf((range.Start, range.End));
        if (index < 0)
        {
            violations.Report(ShadowViolations.UnbalancedInvalidation, new AccessSite(guest, -1, range.Start.PageNumber), -1,
                $"invalidate_range_end [{range.Start}, {range.End}) without a matching start");
            return;
        }

        _open.RemoveAt(index);
    }

    private void Check(ulong gfn, Hva hva, Pfn pfn, int vcpu, string what)
    {
        foreach (var (start, end) in _open)
        {
            if (hva >= start && hva < end)
            {
                violations.Report(ShadowViolations.InstallDuringInvalidation, new AccessSite(guest, vcpu, gfn), pfn.Value,
                    $"gfn 0x{gfn:x} {what} to pfn {pfn.Value} while invalidation [{start}, {end}) was open");
                return;
            }
        }

        if (_open.Count != 0 || mm.Profile != NotifierProfile.Modern)
        {
            // Legacy single-page sites change the PTE before InvalidatePage: a transient mismatch is allowed there.
            return;
        }

        var pte = mm.PteOf(hva);
        if (!Pte.IsPresent(pte) || Pte.PfnOf(pte) != pfn)
        {
            violations.Report(ShadowViolations.StaleInstall, new AccessSite(guest, vcpu, gfn), pfn.Value,
                $"gfn 0x{gfn:x} {what} to pfn {pfn.Value} but the host PTE at {hva} maps "
                + (Pte.IsPresent(pte) ? $"pfn {Pte.PfnOf(pte).Value}" : "nothing"));
        }
    }
}
