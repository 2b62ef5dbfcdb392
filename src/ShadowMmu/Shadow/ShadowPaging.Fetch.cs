using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Faults;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// The shadow fault: <c>FNAME(page_fault)</c> walks the guest tables, then runs the shared fault-retry path with
/// <c>FNAME(fetch)</c> as its install step, which builds the shadow hierarchy down to the leaf.
/// </summary>
public sealed partial class ShadowPaging
{
    /// <summary>
    /// <c>FNAME(page_fault)</c> for guest virtual page <paramref name="gvpn"/> of the vCPU's current CR3: reload an
    /// invalid root (<c>kvm_mmu_reload</c>), walk the guest tables without the MMU lock (a failed walk is a guest page
    /// fault to inject), then the fault-retry protocol on the gfn the walk found, with fetch as the install.
    /// </summary>
    internal FaultOutcome HandleFault(Vcpu vcpu, ulong gvpn, bool write)
    {
        EnsureRoot(vcpu);
        var walk = GuestWalker.Walk(Tables, vcpu.Cr3Gfn, gvpn, write);
        if (walk.Fault != GuestFaultKind.None)
        {
            vcpu.Stats.Faults++;
            Stats.GuestPageFault(); // kvm_inject_emulated_page_fault
            return FaultOutcome.GuestPageFault;
        }

        var install = new ShadowInstall(walk, gvpn);
        return _vm.HandleFault(vcpu, walk.Gfn, write, ref install);
    }

    /// <summary>
    /// <c>FNAME(fetch)</c>, under the MMU write lock after the shared stale-fault check passed: re-check the top gpte,
    /// then from the root down, find or create the child shadow page of each guest table on the path
    /// (<c>kvm_mmu_get_child_sp</c>, which write-protects a new one), re-check the gpte that led to it now that its
    /// table is protected (<c>FNAME(gpte_changed)</c>), link it, and finally set the leaf SPTE with its reverse-map
    /// entry (<c>mmu_set_spte</c>).
    /// </summary>
    internal FaultOutcome Fetch(Vcpu vcpu, in GuestWalk walk, ulong gvpn, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write)
    {
        AssertWriteLocked("fetch links shadow pages and reverse-map entries under the MMU write lock");
        var root = vcpu.ShadowRoot;
        if (root is null || root.Invalid)
        {
            return FaultOutcome.Retry; // the root was zapped meanwhile: reload and walk again
        }

        if (GpteChanged(walk, gvpn, Gpte.Levels))
        {
            Stats.GpteChanged();
            return FaultOutcome.Retry;
        }

        var sp = root;
        for (var level = Gpte.Levels; level > 1; level--)
        {
            var index = Gpte.IndexOf(gvpn, level);
            var child = sp.Children![index];
            if (child is null)
            {
                child = GetShadowPage(walk.TableGfn[level - 2], new ShadowRole(level - 1, walk.WritableFrom(level)));

                // "Verify that the gpte in the page we've just write protected is still there."
                if (GpteChanged(walk, gvpn, level - 1))
                {
                    Stats.GpteChanged();
                    CommitZap(flush: false);
                    return FaultOutcome.Retry;
                }

                Link(sp, index, child);
            }

            sp = child;
        }

        var outcome = SetLeafSpte(vcpu, sp, Gpte.IndexOf(gvpn, 1), walk.Writable, slot, gfn, hva, gup, write);
        CommitZap(flush: false);
        return outcome;
    }

    /// <summary><c>FNAME(gpte_changed)</c>: the gpte the walk read at <paramref name="level"/> is not there any more.</summary>
    private bool GpteChanged(in GuestWalk walk, ulong gvpn, int level) =>
        Tables.Read(walk.TableGfn[level - 1], Gpte.IndexOf(gvpn, level)) != walk.Gptes[level - 1];

    /// <summary>
    /// <c>kvm_mmu_get_shadow_page</c>: the valid page for (gfn, role), or a new one. An unsync page found here is
    /// synced but stays unsync (<c>kvm_mmu_find_shadow_page</c>: protection waits for the guest's TLB flush); a new
    /// page write-protects its guest table (<c>account_shadowed</c>). Caller holds the MMU write lock.
    /// </summary>
    internal ShadowPage GetShadowPage(ulong gfn, ShadowRole role)
    {
        AssertWriteLocked("shadow pages are created and hashed under the MMU write lock");
        var sp = Pages.Find(gfn, role);
        if (sp is not null)
        {
            if (sp.Unsync && SyncPage(sp))
            {
                _vm.FlushRemoteTlbs();
            }

            return sp;
        }

        sp = Pages.Create(gfn, role);
        Stats.PageCreated();
        AccountShadowed(sp);
        return sp;
    }

    /// <summary>
    /// <c>account_shadowed</c>: an upper-level table is write-tracked (every guest store to it is emulated); any table
    /// is write-protected (<c>kvm_mmu_slot_gfn_write_protect</c>: W and MMU-writable cleared on every SPTE mapping the
    /// frame, flushed), so the guest cannot change it behind its shadow.
    /// </summary>
    private void AccountShadowed(ShadowPage sp)
    {
        if ((_mutations & ShadowMutations.NoGptWriteProtect) != 0)
        {
            return; // the broken variant: the guest edits the table without trapping
        }

        if (sp.Level > 1)
        {
            Track.AddTrack(sp.Gfn);
            sp.Accounted = true;
        }

        Track.WriteProtect(sp.Gfn);
        if (RmapWriteProtect(sp.Gfn))
        {
            _vm.FlushRemoteTlbs();
        }
    }

    /// <summary><c>rmap_write_protect</c>: clears W on every leaf SPTE mapping <paramref name="gfn"/>; true if one was writable.</summary>
    private bool RmapWriteProtect(ulong gfn)
    {
        var changed = false;
        for (var k = Rmap.CountOf(gfn) - 1; k >= 0; k--)
        {
            var (id, index) = Rmap.EntryAt(gfn, k);
            ref var entry = ref Pages.Get(id).Spt[index];
            var spte = Volatile.Read(ref entry);
            while (Spte.IsWritable(spte))
            {
                // A vCPU may set A/D concurrently: clear W on the value it left.
                var seen = Interlocked.CompareExchange(ref entry, spte & ~Spte.Writable, spte);
                if (seen == spte)
                {
                    changed = true;
                    break;
                }

                spte = seen;
            }
        }

        return changed;
    }

    /// <summary>
    /// <c>link_shadow_page</c>: point the parent entry at the child (child reference first, then the present bit,
    /// so a lockless walker that sees the entry present finds the child), record the parent, and propagate unsync.
    /// </summary>
    private static void Link(ShadowPage parent, int index, ShadowPage child)
    {
        Volatile.Write(ref parent.Children![index], child);
        Volatile.Write(ref parent.Spt[index], Spte.Present | Spte.Writable);
        child.AddParent(parent, index);
        if (child.Unsync || child.UnsyncChildren)
        {
            MarkParentsUnsync(child);
        }
    }

    /// <summary><c>kvm_mmu_mark_parents_unsync</c>: every ancestor learns that a page below it is unsync.</summary>
    private static void MarkParentsUnsync(ShadowPage sp)
    {
        foreach (var (parent, _) in sp.Parents)
        {
            if (!parent.UnsyncChildren)
            {
                parent.UnsyncChildren = true;
                MarkParentsUnsync(parent);
            }
        }
    }

    /// <summary>
    /// <c>mmu_try_to_unsync_pages</c>: may an SPTE mapping <paramref name="gfn"/> be writable? Not if an upper-level
    /// table lives there (write-tracked); otherwise every leaf page shadowing it goes unsync and the frame's
    /// protection is lifted. Frames holding no table: yes, at the cost of one hash lookup.
    /// </summary>
    internal bool TryUnsync(ulong gfn)
    {
        if (Track.IsWriteTracked(gfn))
        {
            return false;
        }

        if (Pages.Shadows(gfn))
        {
            foreach (var sp in Pages.OfGfn(gfn))
            {
                if (!sp.Unsync)
                {
                    sp.Unsync = true; // kvm_unsync_page
                    Stats.Unsynced();
                    MarkParentsUnsync(sp);
                }
            }
        }

        Track.Unprotect(gfn);
        return true;
    }

    /// <summary>
    /// <c>mmu_set_spte</c> / <c>make_spte</c>: map the host page at leaf index <paramref name="index"/>, writable only
    /// if the guest path, the host page, the slot and <see cref="TryUnsync"/> all allow it; a different translation
    /// there is dropped first. A write that cannot be made writable (the frame is a guest table) would be emulated in
    /// the kernel; here it exits to the VMM.
    /// </summary>
    private FaultOutcome SetLeafSpte(Vcpu vcpu, ShadowPage sp, int index, bool guestWritable, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write)
    {
        ref var entry = ref sp.Spt[index];
        var old = Volatile.Read(ref entry);
        if (Spte.IsPresent(old))
        {
            if (sp.Gfns![index] == gfn && Spte.PfnOf(old) == gup.Pfn && (!write || Spte.IsWritable(old)))
            {
                return FaultOutcome.Installed; // another fault got there first
            }

            DropLeafSpte(sp, index);
            _vm.FlushRemoteTlbs(); // the old translation may be cached
        }

        var writable = guestWritable && gup.Writable && !slot.ReadOnly && TryUnsync(gfn);
        if (write && !writable)
        {
            return FaultOutcome.Mmio;
        }

        var bits = Spte.Accessed | (writable ? Spte.Writable : 0) | (gup.Writable ? Spte.HostWritable : 0) | (write ? Spte.Dirty : 0);
        _vm.CheckInstall(gfn, hva, gup.Pfn, vcpu.Index);
        sp.Gfns![index] = (uint)gfn;
        Rmap.Add(gfn, sp, index);
        Volatile.Write(ref entry, Spte.Make(gup.Pfn, bits));
        vcpu.Stats.SptesInstalled++;
        return FaultOutcome.Installed;
    }

    /// <summary>Step 6 of the shared fault path in shadow mode: fetch under the write lock.</summary>
    private readonly struct ShadowInstall(GuestWalk walk, ulong gvpn) : IFaultInstall
    {
        private readonly GuestWalk _walk = walk;

        public bool NeedsWriteLock => true;

        public FaultOutcome Install(VirtualMachine vm, Vcpu vcpu, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write, HostPageLevel level) =>
            vm.Shadow!.Fetch(vcpu, _walk, gvpn, slot, gfn, hva, gup, write);
    }
}
