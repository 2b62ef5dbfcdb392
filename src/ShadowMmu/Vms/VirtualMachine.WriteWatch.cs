using System.Runtime.CompilerServices;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>The write-permission check of a guest store into a write-watched frame.</summary>
public sealed partial class VirtualMachine
{
    /// <summary>
    /// A vCPU stored into <paramref name="pfn"/>, which a host section downgraded or removed somewhere since the host
    /// last mapped it writable (<see cref="HostMemory.Physical.FrameState.WriteWatch"/>). The store is legal only if
    /// the host PTE at the store's address maps this frame writable now: a correct shadow MMU can only hold a writable
    /// entry that <c>get_user_pages(FOLL_WRITE)</c> handed out, and every later change of that PTE was preceded by a
    /// range start whose zap and TLB flush waited for this vCPU to leave guest mode, which it has not done since the
    /// store. Called in guest mode, right after the store. TDP mode only (<see cref="MmuMode.Tdp"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void CheckWatchedWrite(int vcpu, ulong gfn, Pfn pfn)
    {
        if (Shadow is not null)
        {
            return; // shadow mode: the TLB and the SPTEs are tagged by guest virtual page; the gfn is not at hand here
        }

        var slot = FindMemslot(gfn);
        if (slot is null)
        {
            return;
        }

        var hva = slot.HvaOf(gfn);
        var pte = AddressSpace.PteOf(hva);
        if ((pte & (Pte.Present | Pte.Writable)) == (Pte.Present | Pte.Writable) && Pte.PfnOf(pte) == pfn)
        {
            return;
        }

        var now = !Pte.IsPresent(pte) ? "maps nothing there"
            : Pte.PfnOf(pte) != pfn ? $"maps frame {Pte.PfnOf(pte).Value} there"
            : "maps it read-only there";
        Violations.Report(ShadowViolations.WriteToWriteProtected, new AccessSite(Name, vcpu, gfn), pfn.Value,
            $"vcpu {vcpu} stored into frame {pfn.Value} through gfn 0x{gfn:x} (hva 0x{hva.Value:x}), but the host {now}");
    }
}
