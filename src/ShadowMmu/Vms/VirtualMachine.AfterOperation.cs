using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>Checks that a host operation which returned left no translation the host no longer backs.</summary>
public sealed partial class VirtualMachine
{
    private long _afterOperationChecks;

    /// <summary>Times <see cref="CheckAfterOperation"/> checked something.</summary>
    public long AfterOperationChecks => Interlocked.Read(ref _afterOperationChecks);

    /// <summary>True where the checks are exact: TDP mode (gfn-tagged entries) under the modern profile.</summary>
    internal bool ChecksTranslations => Shadow is null && AddressSpace.Profile == NotifierProfile.Modern;

    /// <summary>
    /// After <c>munmap</c>, <c>madvise</c> or <c>mprotect</c> over [<paramref name="start"/>, <paramref name="end"/>)
    /// returned: no SPTE of the range may map a frame the host PTE does not map there, nor map it writable where the
    /// host PTE is read-only, no 2 MiB SPTE overlapping it may outlive the host's PMD leaf of the same frames (P15), and
    /// every vCPU checks its own TLB the same way the next time it enters guest mode.
    /// Under the MMU write lock, so no fault installs and no zap runs meanwhile; an SPTE inside a section that is open
    /// now is skipped (its start has zapped it; one installed since is the install checks' business). Returns the
    /// number of stale SPTEs found.
    /// </summary>
    public int CheckAfterOperation(Hva start, Hva end)
    {
        if (!ChecksTranslations)
        {
            return 0;
        }

        Interlocked.Increment(ref _afterOperationChecks);
        var stale = 0;
        _mmuLock.EnterWrite();
        try
        {
            if (_released || !_attached)
            {
                return 0; // release zapped everything; nothing installs until a re-attach
            }

            foreach (var slot in _memslots)
            {
                if (!slot.GfnRangeOf(start, end, out var first, out var last))
                {
                    continue;
                }

                for (var gfn = first; gfn < last; gfn++)
                {
                    var leaf = Table.FindLeaf(gfn);
                    var huge = leaf is null ? 0 : Volatile.Read(ref leaf.Huge);
                    if (Spte.IsPresent(huge) && (gfn == first || (gfn & (ShadowPageTable.LeafEntries - 1)) == 0))
                    {
                        stale += CheckHugeSpte(slot, gfn & ~(ulong)(ShadowPageTable.LeafEntries - 1), huge);
                    }

                    var spte = Table.Read(gfn);
                    if (!Spte.IsPresent(spte))
                    {
                        continue;
                    }

                    var hva = slot.HvaOf(gfn);
                    var pte = AddressSpace.PteOf(hva);
                    if (Agrees(pte, Spte.PfnOf(spte), Spte.IsWritable(spte)) || _monitor.Covers(hva))
                    {
                        continue;
                    }

                    stale++;
                    ReportMappedAfterOperation(-1, gfn, Spte.PfnOf(spte), pte, Spte.IsWritable(spte), "SPTE");
                }
            }
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

        foreach (var vcpu in _vcpus)
        {
            vcpu.MakeRequest(VcpuRequests.CheckTlb);
        }

        return stale;
    }

    /// <summary>A translation to <paramref name="pfn"/> (writable or not) agrees with host PTE <paramref name="pte"/>.</summary>
    internal static bool Agrees(ulong pte, Pfn pfn, bool writable) =>
        Pte.IsPresent(pte) && Pte.PfnOf(pte) == pfn && (!writable || Pte.IsWritable(pte));

    internal void ReportMappedAfterOperation(int vcpu, ulong gfn, Pfn pfn, ulong pte, bool writable, string what)
    {
        var host = !Pte.IsPresent(pte) ? "maps nothing there"
            : Pte.PfnOf(pte) != pfn ? $"maps frame {Pte.PfnOf(pte).Value} there"
            : "maps it read-only there";
        Violations.Report(ShadowViolations.MappedAfterOperation, new AccessSite(Name, vcpu, gfn), pfn.Value,
            $"after the host operation returned, a{(writable ? " writable" : string.Empty)} {what} maps gfn 0x{gfn:x} to frame {pfn.Value}, but the host {host}");
    }
}
