using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// Keeping shadow pages in step with the guest tables: emulated stores to write-tracked frames
/// (<c>kvm_mmu_track_write</c>), unsync pages synced one entry at a time by INVLPG (<c>kvm_mmu_invlpg</c>) and
/// wholesale on a CR3 load (<c>mmu_sync_children</c>).
/// </summary>
public sealed partial class ShadowPaging
{
    /// <summary>
    /// A guest store of <paramref name="gpte"/> into entry <paramref name="index"/> of the table in frame
    /// <paramref name="tableGfn"/>. An unprotected frame takes it directly. A protected one faults
    /// (<c>kvm_mmu_page_fault</c>): a write-tracked frame, holding an upper-level table, is emulated
    /// (<c>emulator_write_phys</c>: the store, then <c>kvm_page_track_write</c>, which zaps the shadowed entry in every
    /// page of the frame and flushes); a frame holding only leaf tables is unsynced (<c>mmu_try_to_unsync_pages</c>)
    /// and the store completes with no exit, its shadow entries lagging until the guest flushes its TLB.
    /// </summary>
    internal void GuestStore(ulong tableGfn, int index, ulong gpte)
    {
        _vm.MmuLock.EnterWrite();
        try
        {
            if (Track.IsWriteProtected(tableGfn))
            {
                if (Track.IsWriteTracked(tableGfn))
                {
                    Tables.Write(tableGfn, index, gpte);
                    TrackWrite(tableGfn, index);
                    Stats.EmulatedWrite();
                    return;
                }

                TryUnsync(tableGfn);
            }

            Tables.Write(tableGfn, index, gpte);
            Stats.DirectStore();
        }
        finally
        {
            _vm.MmuLock.ExitWrite();
        }
    }

    /// <summary>
    /// The guest zeroing frame <paramref name="gfn"/> before using it as a new table. On a write-tracked frame this is
    /// the write flood <c>detect_write_flooding</c> answers by zapping every shadow page of the frame; on a frame with
    /// only leaf tables it unsyncs them, like any store; their stale entries are dropped when they are synced.
    /// </summary>
    internal void GuestClearFrame(ulong gfn)
    {
        _vm.MmuLock.EnterWrite();
        try
        {
            if (Track.IsWriteTracked(gfn) && Track.IsWriteProtected(gfn))
            {
                Tables.Clear(gfn);
                ZapPagesOfGfn(gfn);
                Stats.EmulatedWrite();
                return;
            }

            if (Track.IsWriteProtected(gfn))
            {
                TryUnsync(gfn);
            }

            Tables.Clear(gfn);
            Stats.DirectStore();
        }
        finally
        {
            _vm.MmuLock.ExitWrite();
        }
    }

    /// <summary><c>kvm_mmu_track_write</c>: zap entry <paramref name="index"/> in every shadow page of the frame, flush.</summary>
    private void TrackWrite(ulong gfn, int index)
    {
        AssertWriteLocked("emulated table writes zap under the MMU write lock");
        if (Pages.Shadows(gfn))
        {
            foreach (var sp in Pages.OfGfn(gfn))
            {
                _pendingFlush |= ZapEntry(sp, index);
            }
        }

        CommitZap(flush: false);
    }

    /// <summary>
    /// <c>kvm_mmu_invlpg</c> → <c>kvm_mmu_invalidate_addr</c>: walk the shadow for the address from the vCPU's root;
    /// at an unsync page sync that one entry (<c>kvm_sync_spte</c>) and flush if it changed
    /// (<c>kvm_flush_remote_tlbs_sptep</c>); stop where nothing below is unsync. The vCPU flushes its own TLB entry
    /// for the address (<c>flush_tlb_gva</c>) when this returns true.
    /// </summary>
    internal bool Invlpg(Vcpu vcpu, ulong gvpn)
    {
        var flushTlb = (_mutations & ShadowMutations.NoInvlpgFlush) == 0;
        _vm.MmuLock.EnterWrite();
        try
        {
            Stats.Invlpg();
            var sp = vcpu.ShadowRoot;
            while (sp is not null && !sp.Invalid)
            {
                var index = Gpte.IndexOf(gvpn, sp.Level);
                if (sp.Unsync && SyncSpte(sp, index) && flushTlb)
                {
                    _pendingFlush = true;
                }

                if (!sp.UnsyncChildren || sp.Level == 1)
                {
                    break;
                }

                sp = sp.Children![index];
            }

            if (!flushTlb)
            {
                _pendingFlush = false; // the broken variant: the synced entry stays in the TLBs
            }

            CommitZap(flush: false);
        }
        finally
        {
            _vm.MmuLock.ExitWrite();
        }

        return flushTlb;
    }

    /// <summary>
    /// <c>FNAME(sync_spte)</c>: bring leaf entry <paramref name="index"/> of an unsync page in line with its gpte. A
    /// gpte gone or pointing elsewhere drops the SPTE; a changed permission rewrites it keeping the host frame (valid
    /// because notifiers zap any SPTE whose gfn-to-pfn changed). True if the SPTE changed in a way TLBs must forget.
    /// </summary>
    private bool SyncSpte(ShadowPage sp, int index)
    {
        ref var entry = ref sp.Spt[index];
        var old = Volatile.Read(ref entry);
        if (!Spte.IsPresent(old))
        {
            return false;
        }

        var gpte = Tables.Read(sp.Gfn, index);
        var gfn = sp.Gfns![index];
        if (!Gpte.IsPresent(gpte) || Gpte.GfnOf(gpte) != gfn)
        {
            DropLeafSpte(sp, index);
            Stats.Synced(1);
            return true;
        }

        var writable = Gpte.IsWritable(gpte) && sp.Role.Writable && (old & Spte.HostWritable) != 0
            && _vm.FindMemslot(gfn) is { ReadOnly: false } && TryUnsync(gfn);
        while (Spte.IsWritable(old) != writable)
        {
            var seen = Interlocked.CompareExchange(ref entry, writable ? old | Spte.Writable : old & ~Spte.Writable, old);
            if (seen == old)
            {
                Stats.Synced(1);
                return !writable; // losing W must be flushed; gaining it need not be
            }

            old = seen;
        }

        return false;
    }

    /// <summary><c>kvm_sync_page</c>: every entry of <paramref name="sp"/>; true if a flush is needed.</summary>
    private bool SyncPage(ShadowPage sp)
    {
        var flush = false;
        for (var i = 0; i < Gpte.Entries; i++)
        {
            flush |= SyncSpte(sp, i);
        }

        return flush;
    }

    /// <summary>
    /// <c>mmu_sync_children</c>: every unsync page below <paramref name="sp"/> is write-protected again and synced;
    /// true if a flush is needed.
    /// </summary>
    private bool SyncChildren(ShadowPage sp)
    {
        var flush = false;
        sp.UnsyncChildren = false;
        foreach (var child in sp.Children!)
        {
            if (child is null)
            {
                continue;
            }

            if (child.Level == 1)
            {
                if (child.Unsync)
                {
                    child.Unsync = false; // kvm_unlink_unsync_page
                    if ((_mutations & ShadowMutations.NoGptWriteProtect) == 0)
                    {
                        Track.WriteProtect(child.Gfn); // kvm_vcpu_write_protect_gfn
                    }

                    flush |= SyncPage(child);
                }
            }
            else if (child.UnsyncChildren)
            {
                flush |= SyncChildren(child);
            }
        }

        return flush;
    }
}
