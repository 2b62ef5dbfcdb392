using Hypervisor.HostMemory.PageTables;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>The vCPU's check of its own TLB after a host operation returned.</summary>
public sealed partial class Vcpu
{
    // Set by ServiceRequests (vCPU thread), consumed once the vCPU is back in guest mode.
    private bool _tlbCheckPending;

    /// <summary>
    /// Every cached translation must agree with the host page table: same frame, and writable only where the host PTE
    /// is writable. Runs on the vCPU's thread in guest mode with no request pending: every flush posted before now was
    /// serviced, and a host section that starts now waits for this vCPU to leave guest mode before it changes a PTE,
    /// so an entry that disagrees was left behind by a section that already returned. TDP mode, modern profile only
    /// (the 2008 <c>invalidate_page</c> comes after the PTE change, so a stale entry is legal for a moment there).
    /// </summary>
    private void CheckOwnTlb()
    {
        _tlbCheckPending = false;
        if (!Vm.ChecksTranslations)
        {
            return;
        }

        for (var idx = 0; idx < _tlbTags.Length; idx++)
        {
            var tag = _tlbTags[idx];
            if (tag == 0)
            {
                continue;
            }

            var gfn = tag - 1;
            var entry = _tlbEntries[idx];
            var slot = Vm.FindMemslot(gfn);
            if (slot is null)
            {
                continue;
            }

            var hva = slot.HvaOf(gfn);
            var pte = Vm.AddressSpace.PteOf(hva);
            var writable = (entry & TlbWritable) != 0;
            if (VirtualMachine.Agrees(pte, Spte.PfnOf(entry), writable))
            {
                continue;
            }

            Vm.ReportMappedAfterOperation(Index, gfn, Spte.PfnOf(entry), pte, writable, "vCPU TLB entry");
        }
    }
}
