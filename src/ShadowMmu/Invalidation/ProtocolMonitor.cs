using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>
/// An independent witness of the notifier protocol for one VM: it keeps the exact hva ranges of the open start/end
/// sections (not KVM's widened gfn union, and not the counters the mutations can break) and checks every install
/// against them and against the host PTE.
/// </summary>
/// <remarks>
/// Sections open and close under the MMU write lock; installs are checked under the MMU read lock, so the list is
/// stable while it is read. With no section open, the host cannot change a PTE's pfn (every such change is inside
/// a section under the modern profile), which makes the host-PTE comparison exact there.
/// </remarks>
internal sealed class ProtocolMonitor(string guest, AddressSpace mm, ViolationLog violations)
{
    private readonly List<(Hva Start, Hva End)> _open = [];

    public void Open(in NotifierRange range) => _open.Add((range.Start, range.End));

    public void Close(in NotifierRange range)
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

    /// <summary>Forgets open sections whose end will never come (the notifier was unregistered).</summary>
    public void Reset() => _open.Clear();

    /// <summary>Checks an install that is about to happen (MMU read lock held).</summary>
    public void CheckInstall(ulong gfn, Hva hva, Pfn pfn, int vcpu)
    {
        foreach (var (start, end) in _open)
        {
            if (hva >= start && hva < end)
            {
                violations.Report(ShadowViolations.InstallDuringInvalidation, new AccessSite(guest, vcpu, gfn), pfn.Value,
                    $"gfn 0x{gfn:x} installed to pfn {pfn.Value} while invalidation [{start}, {end}) was open");
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
                $"gfn 0x{gfn:x} installed to pfn {pfn.Value} but the host PTE at {hva} maps "
                + (Pte.IsPresent(pte) ? $"pfn {Pte.PfnOf(pte).Value}" : "nothing"));
        }
    }
}
