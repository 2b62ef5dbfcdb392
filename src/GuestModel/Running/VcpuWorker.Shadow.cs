using Hypervisor.GuestModel.GuestKernel;
using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.GuestModel.Running;

/// <summary>The worker of a shadow-mode guest: accesses through guest virtual memory, checked against the guest's own tables.</summary>
public sealed partial class VcpuWorker
{
    /// <summary>
    /// One workload access through the current guest process: maybe a page-table event first, then the access by
    /// guest virtual page. The guest's own walk of its tables is the reference: an access they allow must complete
    /// and read what was last written to the frame they name (through any alias); an access they forbid must be a
    /// guest page fault, never a silent read or write. The guest kernel then handles the fault.
    /// </summary>
    private AccessResult AccessVirtual(long page, bool write, bool duplicate)
    {
        var cpu = _guestCpu!;
        var index = _vcpu.Index;
        cpu.MaybeChurn(page);
        if (write)
        {
            page = cpu.OwnedNear(page);
        }

        var expected = cpu.Translate(page, write);
        var allowed = expected.Fault == GuestFaultKind.None;
        var gfn = allowed ? (long)expected.Gfn : page;
        AccessResult result;
        if (write)
        {
            var value = duplicate && allowed ? _duplicateValues[_duplicates++ & 3] : _oracle.NextWriteValue(index, gfn);
            result = _vcpu.AccessVirtual(GuestCpu.GvpnOf(page), write: true, value);
            if (result.IsOk && allowed)
            {
                _oracle.Wrote(index, gfn, value);
            }
        }
        else
        {
            var hostWriteEpoch = _oracle.HostWriteEpoch;
            result = _vcpu.AccessVirtual(GuestCpu.GvpnOf(page), write: false, 0);
            if (result.IsOk && allowed)
            {
                _oracle.CheckRead(index, gfn, result.Value, result.Pfn, hostWriteEpoch);
            }
        }

        if (result.IsOk && !allowed)
        {
            _oracle.GuestMappingIgnored(index, page, write, expected.Fault, result.Pfn);
        }
        else if (result.Status == AccessStatus.GuestPageFault)
        {
            if (allowed)
            {
                _oracle.SpuriousGuestFault(index, page, write, expected.Gfn);
            }

            cpu.HandlePageFault(page, write);
        }

        return result;
    }
}
