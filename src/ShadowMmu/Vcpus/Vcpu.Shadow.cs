using System.Runtime.CompilerServices;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.ShadowMmu.Faults;
using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Tables;

namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>
/// The vCPU in shadow mode: accesses by guest virtual page through a TLB tagged with (PCID, guest virtual page),
/// a lockless walk of the shadow pages from the current root, and the guest instructions the hypervisor intercepts
/// or whose effect it must see (MOV CR3, INVLPG, stores to guest page-table frames). Each of these leaves guest
/// mode before it takes the MMU lock, as an exit does (a flusher holding the lock waits for guest mode to end), and
/// re-enters it afterwards if the vCPU was in guest mode.
/// </summary>
public sealed partial class Vcpu
{
    private const int PcidShift = 40;

    /// <summary>Largest PCID (12 bits, as CR3 holds).</summary>
    public const int MaxPcid = 4095;

    // Shadow state, owned by the vCPU thread; ShadowRoot and PrevRoots change only under the MMU write lock.
    internal ShadowPage? ShadowRoot;
    internal ulong Cr3Gfn;
    internal bool Cr3Loaded;
    internal readonly ShadowPage?[] PrevRoots = new ShadowPage?[ShadowPaging.PrevRoots];
    private ulong _pcidTag;

    /// <summary>The guest frame of the top-level table CR3 points at (shadow mode).</summary>
    public ulong CurrentCr3 => Cr3Gfn;

    /// <summary>The shadow page the vCPU walks from, or null before the first CR3 load.</summary>
    public ShadowPage? CurrentRoot => ShadowRoot;

    /// <summary>
    /// One guest load or store through guest virtual page <paramref name="gvpn"/> of the current address space (shadow
    /// mode), in guest mode: TLB, else a walk of the shadow pages, else the shadow fault path, which may end in a guest
    /// page fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AccessResult AccessVirtual(ulong gvpn, bool write, ulong value)
    {
        if (Volatile.Read(ref _requests) != 0)
        {
            TakeRequestsInterrupt();
        }

        Stats.Accesses++;
        var idx = (gvpn ^ (_pcidTag >> PcidShift)) & _tlbMask;
        var entry = _tlbEntries[idx];
        if (_tlbTags[idx] == (_pcidTag | gvpn) + 1 && (!write || (entry & TlbWriteOk) == TlbWriteOk))
        {
            return Touch(gvpn, Spte.PfnOf(entry), write, value);
        }

        Stats.TlbMisses++;
        return WalkShadowOrFault(gvpn, write, value);
    }

    /// <summary>MOV CR3 to the table at <paramref name="cr3Gfn"/> with <paramref name="pcid"/> (no NOFLUSH: that PCID's TLB entries go).</summary>
    public void LoadCr3(ulong cr3Gfn, int pcid)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)pcid, (uint)MaxPcid, nameof(pcid));
        var inGuest = InGuestMode;
        ExitGuest();
        Vm.Shadow!.LoadCr3(this, cr3Gfn);
        _pcidTag = (ulong)pcid << PcidShift;
        for (var i = 0; i < _tlbTags.Length; i++)
        {
            if (_tlbTags[i] != 0 && ((_tlbTags[i] - 1) >> PcidShift) == (ulong)pcid)
            {
                _tlbTags[i] = 0;
            }
        }

        ReenterGuest(inGuest);
    }

    /// <summary>INVLPG of guest virtual page <paramref name="gvpn"/> in the current PCID (intercepted: <c>kvm_mmu_invlpg</c>).</summary>
    public void Invlpg(ulong gvpn)
    {
        var inGuest = InGuestMode;
        ExitGuest();
        if (Vm.Shadow!.Invlpg(this, gvpn))
        {
            // flush_tlb_gva: this vCPU's entry for the address.
            var idx = (gvpn ^ (_pcidTag >> PcidShift)) & _tlbMask;
            if (_tlbTags[idx] == (_pcidTag | gvpn) + 1)
            {
                _tlbTags[idx] = 0;
            }
        }

        ReenterGuest(inGuest);
    }

    /// <summary>A guest store of <paramref name="gpte"/> into entry <paramref name="index"/> of the table in frame <paramref name="tableGfn"/>.</summary>
    public void WriteGuestPte(ulong tableGfn, int index, ulong gpte)
    {
        var inGuest = InGuestMode;
        ExitGuest();
        Vm.Shadow!.GuestStore(tableGfn, index, gpte);
        ReenterGuest(inGuest);
    }

    /// <summary>The guest zeroing frame <paramref name="gfn"/> to use it as a page table.</summary>
    public void ClearGuestTable(ulong gfn)
    {
        var inGuest = InGuestMode;
        ExitGuest();
        Vm.Shadow!.GuestClearFrame(gfn);
        ReenterGuest(inGuest);
    }

    /// <summary>Back to guest mode after an intercepted instruction, if the vCPU was running guest code before it.</summary>
    private void ReenterGuest(bool wasInGuest)
    {
        if (wasInGuest)
        {
            EnterGuest();
        }
    }

    private AccessResult WalkShadowOrFault(ulong gvpn, bool write, ulong value)
    {
        while (true)
        {
            var sp = ShadowRoot;
            for (var level = Gpte.Levels; sp is not null && level > 1; level--)
            {
                var index = Gpte.IndexOf(gvpn, level);
                var child = Spte.IsPresent(Volatile.Read(ref sp.Spt[index])) ? Volatile.Read(ref sp.Children![index]) : null;
                if (child is not null && child.Freed)
                {
                    // Only a skipped flush lets a walker reach a page kvm_mmu_commit_zap_page freed.
                    Vm.Violations.Report(ShadowViolations.ShadowPageUseAfterFree, new AccessSite(Vm.Name, Index, gvpn), -1,
                        $"the walk of guest page 0x{gvpn:x} reached freed {child}");
                    child = null;
                }

                sp = child;
            }

            if (sp is not null)
            {
                ref var slot = ref sp.Spt[Gpte.IndexOf(gvpn, 1)];
                var spte = Volatile.Read(ref slot);
                if (Spte.IsPresent(spte) && (!write || Spte.IsWritable(spte)))
                {
                    var bits = Spte.Accessed | (write ? Spte.Dirty : 0);
                    if ((spte & bits) != bits && Interlocked.CompareExchange(ref slot, spte | bits, spte) != spte)
                    {
                        continue;
                    }

                    var idx = (gvpn ^ (_pcidTag >> PcidShift)) & _tlbMask;
                    _tlbTags[idx] = (_pcidTag | gvpn) + 1;
                    _tlbEntries[idx] = (spte & Spte.FrameMask) | (Spte.IsWritable(spte) ? TlbWritable : 0)
                        | (((spte | bits) & Spte.Dirty) != 0 ? TlbDirty : 0);
                    return Touch(gvpn, Spte.PfnOf(spte), write, value);
                }
            }

            ExitGuest();
            var outcome = Vm.Shadow!.HandleFault(this, gvpn, write);
            EnterGuest();
            if (AfterFault(outcome) is { } result)
            {
                return result;
            }
        }
    }
}
