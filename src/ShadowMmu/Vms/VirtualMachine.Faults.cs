using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Faults;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// The guest fault path, step for step as KVM's (<c>kvm_tdp_page_fault</c> → <c>kvm_faultin_pfn</c> →
/// <c>is_page_fault_stale</c> → <c>kvm_tdp_mmu_map</c>):
/// 1. sample <c>InvalidateSeq</c> (acquire) before looking at the host page tables;
/// 2. resolve the page, taking a page reference: with <see cref="VmOptions.GupFast"/> first locklessly
///    (<c>hva_to_pfn_fast</c>), else or on its failure with <c>GetUserPages</c> (may fault, break COW, swap in);
/// 3. before and after step 2, retry at once if a lockless pre-check already sees a reason to
///    (<c>mmu_invalidate_retry_gfn_unsafe</c>; it may be wrong either way, so it never replaces step 5);
/// 4. take the MMU lock (read);
/// 5. retry if an invalidation covering the gfn is in progress or the sequence moved (<c>mmu_invalidate_retry_gfn</c>);
/// 6. else install, writable only if the host gave a writable page and the slot allows writes;
/// 7. unlock and drop the page reference: exactly once, on retry and on success. The SPTE holds no reference.
/// </summary>
/// <remarks>
/// TDP and shadow mode share every step but the install (step 6), which <see cref="IFaultInstall"/> supplies, and the
/// lock mode: the TDP MMU installs under the read lock with compare-exchange, the shadow MMU links shadow pages and
/// reverse-map entries under the write lock (<c>FNAME(page_fault)</c> takes <c>write_lock(&amp;kvm-&gt;mmu_lock)</c>).
/// </remarks>
public sealed partial class VirtualMachine
{
    internal FaultOutcome HandleFault(Vcpu vcpu, ulong gfn, bool write)
    {
        var install = new TdpInstall();
        return HandleFault(vcpu, gfn, write, ref install);
    }

    /// <summary>The shared fault path (steps 1 to 7) with a mode's install.</summary>
    internal FaultOutcome HandleFault<TInstall>(Vcpu vcpu, ulong gfn, bool write, ref TInstall install)
        where TInstall : struct, IFaultInstall
    {
        var stats = vcpu.Stats;
        stats.Faults++;
        var slot = FindMemslot(gfn);
        if (slot is null || (write && slot.ReadOnly))
        {
            stats.MmioExits++;
            return FaultOutcome.Mmio;
        }

        var mutations = Options.Mutations;
        var hva = slot.HvaOf(gfn);
        long mmuSeq = 0;
        var seqSampled = (mutations & ShadowMutations.SeqAfterGup) == 0;
        if (seqSampled)
        {
            // fault->mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(): the sample must precede the host walk.
            mmuSeq = _invalidation.Seq;

            // kvm_mmu_faultin_pfn: "Check for a relevant mmu_notifier invalidation event before getting the pfn from
            // the primary MMU, and before acquiring mmu_lock" (mmu_invalidate_retry_gfn_unsafe).
            if (Options.LocklessPreCheck && _invalidation.RetryGfnUnsafe(mmuSeq, gfn))
            {
                stats.Retries[(int)RetryReason.PreCheck]++;
                return FaultOutcome.Retry;
            }
        }

        var gup = ResolveHostPage(slot, hva, write);
        if (gup.Status != HostStatus.Ok)
        {
            stats.HostFaultErrors++;
            return gup.Status == HostStatus.Dead ? FaultOutcome.VmDead : FaultOutcome.HostFault;
        }

        stats.GupReferencesTaken++;
        Options.AfterGetUserPages?.Invoke(new Gfn(gfn));
        SchedulingPoint.Window("gup→mmu_lock");
        if (Options.PreemptInFaultWindowEvery > 0 && stats.Faults % Options.PreemptInFaultWindowEvery == 0 && !SchedulingPoint.IsControlled)
        {
            Thread.Yield();
        }

        if (!seqSampled)
        {
            mmuSeq = _invalidation.Seq;
        }

        // "Check again for a relevant mmu_notifier invalidation event purely to avoid contending mmu_lock." Only a
        // pre-check: the locked mmu_invalidate_retry_gfn below decides.
        if (Options.LocklessPreCheck && _invalidation.RetryGfnUnsafe(mmuSeq, gfn))
        {
            AddressSpace.Host.Memory.Put(gup.Pfn); // kvm_release_faultin_page
            stats.GupReferencesDropped++;
            stats.Retries[(int)RetryReason.PreCheck]++;
            return FaultOutcome.Retry;
        }

        FaultOutcome outcome;
        var exclusive = install.NeedsWriteLock;
        if (exclusive)
        {
            _mmuLock.EnterWrite();
        }
        else
        {
            _mmuLock.EnterRead();
        }

        try
        {
            var stale = CheckStaleUnderLock(vcpu, gfn, mmuSeq);
            var level = stale is null ? HostMappingLevelUnderLock(slot, gfn, hva) : HostPageLevel.Page4K;
            outcome = stale ?? install.Install(this, vcpu, slot, gfn, hva, gup, write, level);
        }
        finally
        {
            if (exclusive)
            {
                _mmuLock.ExitWrite();
            }
            else
            {
                _mmuLock.ExitRead();
            }
        }

        // kvm_release_pfn_clean: the reference gup took is dropped whatever happened.
        AddressSpace.Host.Memory.Put(gup.Pfn);
        stats.GupReferencesDropped++;
        if (outcome == FaultOutcome.Retry && !Volatile.Read(ref _attached))
        {
            SchedulingPoint.Yield("fault retry, notifier detached"); // nothing can install until the notifier is back: let its owner run
        }

        return outcome;
    }

    /// <summary>
    /// <c>hva_to_pfn</c>: <c>hva_to_pfn_fast</c> asks the lockless walk for a writable page whenever the slot could map
    /// one (a read fault too: KVM maps writable if the host already is), and only a read-only slot skips it; on any
    /// failure the locked GUP resolves the fault as asked.
    /// </summary>
    private GupResult ResolveHostPage(Memslot slot, Hva hva, bool write)
    {
        if (Options.GupFast && !slot.ReadOnly && AddressSpace.TryGetUserPageFast(hva, write: true, out var fast))
        {
            return fast;
        }

        return AddressSpace.GetUserPages(hva, write);
    }

    /// <summary>
    /// <c>kvm_mmu_hugepage_adjust</c>: the level to map at. The host walk (<c>host_pfn_mapping_level</c>) runs with
    /// <see cref="VmOptions.GupFast"/> or when the host may map huge pages: "mmu_invalidate_retry() was successful and
    /// mmu_lock is held, so the pmd can't be split from under us" — a PMD change after the sequence sample would have
    /// made the stale check fail, and one after it must run its 2 MiB start, which waits for this lock and then zaps
    /// the huge SPTE. 2 MiB only in TDP mode with <see cref="VmOptions.HugePages"/>, and only
    /// where the memslot allows it (<c>disallow_lpage</c>: the 2 MiB inside the slot, gfn and hva equally aligned).
    /// </summary>
    private HostPageLevel HostMappingLevelUnderLock(Memslot slot, ulong gfn, Hva hva)
    {
        Debug.Assert(_mmuLock.IsHeld, "the host level is read after the stale check, under the MMU lock");
        var hugeSpace = Shadow is null && Options.HugePages && AddressSpace.Thp != ThpMode.Never;
        if (!Options.GupFast && !hugeSpace)
        {
            return HostPageLevel.Page4K;
        }

        var level = AddressSpace.HostPfnMappingLevel(hva);
        var head = gfn & ~(ulong)(ShadowPageTable.LeafEntries - 1);
        var slotAllows = head >= slot.BaseGfn && head + ShadowPageTable.LeafEntries <= slot.EndGfn
            && ((slot.BaseGfn ^ slot.UserspaceAddress.PageNumber) & (ShadowPageTable.LeafEntries - 1)) == 0;
        return hugeSpace && slotAllows && level == HostPageLevel.Pmd2M ? HostPageLevel.Pmd2M : HostPageLevel.Page4K;
    }

    /// <summary>
    /// Step 5 (<c>is_page_fault_stale</c>): a retry outcome if the VM is released or detached or an invalidation
    /// covering the gfn is in progress or completed since the sample; null when the install may go ahead.
    /// </summary>
    private FaultOutcome? CheckStaleUnderLock(Vcpu vcpu, ulong gfn, long mmuSeq)
    {
        Debug.Assert(_mmuLock.IsHeld, "the install decision is made under the MMU lock, which keeps the invalidation state stable");
        var stats = vcpu.Stats;
        if (_released || !_attached)
        {
            if (AddressSpace.IsDead)
            {
                return FaultOutcome.VmDead;
            }

            stats.Retries[(int)RetryReason.NotifierDetached]++;
            return FaultOutcome.Retry;
        }

        if (_invalidation.RetryGfn(mmuSeq, gfn, out var reason))
        {
            stats.Retries[(int)reason]++;
            return FaultOutcome.Retry;
        }

        return null;
    }

    /// <summary>
    /// Step 6 in TDP mode (<c>kvm_tdp_mmu_map</c>): install by compare-exchange, at 2 MiB when <paramref name="level"/>
    /// says so (<see cref="TryInstallTdpHuge"/>), else at 4 KiB. Caller holds the MMU lock (read).
    /// </summary>
    private FaultOutcome InstallTdp(Vcpu vcpu, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write, HostPageLevel level)
    {
        Debug.Assert(_mmuLock.IsHeld, "a TDP install happens under the MMU lock");
        var stats = vcpu.Stats;
        var leaf = Table.GetOrCreateLeaf(gfn);
        if (level == HostPageLevel.Pmd2M && TryInstallTdpHuge(vcpu, leaf, slot, gfn, hva, gup, write) is { } huge)
        {
            return huge;
        }

        var above = Volatile.Read(ref leaf.Huge);
        if (Spte.IsPresent(above))
        {
            // A 2 MiB SPTE already covers the gfn (another vCPU): enough if it maps this page with the rights asked.
            var mapped = Spte.SubpageOf(above, (int)(gfn & (ShadowPageTable.LeafEntries - 1)));
            if (Spte.PfnOf(mapped) == gup.Pfn && (!write || Spte.IsWritable(mapped)))
            {
                return FaultOutcome.Installed;
            }

            stats.Retries[(int)RetryReason.InstallRaced]++;
            return FaultOutcome.Retry;
        }

        ref var entry = ref leaf.Entries[gfn & (ShadowPageTable.LeafEntries - 1)];
        var old = Volatile.Read(ref entry);
        var writable = gup.Writable && !slot.ReadOnly;
        if (Spte.IsPresent(old))
        {
            // Another vCPU installed first. Same page and enough rights: nothing to do.
            if (Spte.PfnOf(old) == gup.Pfn && (!write || Spte.IsWritable(old)))
            {
                return FaultOutcome.Installed;
            }

            if (Spte.PfnOf(old) != gup.Pfn || !writable)
            {
                stats.Retries[(int)RetryReason.InstallRaced]++;
                return FaultOutcome.Retry;
            }
        }

        var bits = Spte.Accessed | (writable ? Spte.Writable : 0) | (gup.Writable ? Spte.HostWritable : 0)
            | (write ? Spte.Dirty : 0);
        _monitor.CheckInstall(gfn, hva, gup.Pfn, vcpu.Index);
        var fresh = Spte.Make(gup.Pfn, bits);
        if (Interlocked.CompareExchange(ref entry, fresh, old) != old)
        {
            stats.Retries[(int)RetryReason.InstallRaced]++;
            return FaultOutcome.Retry;
        }

        if (Spte.IsPresent(Volatile.Read(ref leaf.Huge)))
        {
            // A 2 MiB install raced this one (both under the read lock): back out; one of the two always sees the other.
            Interlocked.CompareExchange(ref entry, old, fresh);
            stats.Retries[(int)RetryReason.InstallRaced]++;
            return FaultOutcome.Retry;
        }

        stats.SptesInstalled++;
        return FaultOutcome.Installed;
    }

    private struct TdpInstall : IFaultInstall
    {
        public readonly bool NeedsWriteLock => false;

        public readonly FaultOutcome Install(VirtualMachine vm, Vcpu vcpu, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write, HostPageLevel level) =>
            vm.InstallTdp(vcpu, slot, gfn, hva, gup, write, level);
    }
}

/// <summary>
/// Step 6 of the shared fault path: what a mode installs once the locked retry check passed. Called with the MMU lock
/// held (for write when <see cref="NeedsWriteLock"/>), the host page's reference still held by the caller.
/// </summary>
internal interface IFaultInstall
{
    /// <summary>True if the install needs the MMU lock for write.</summary>
    bool NeedsWriteLock { get; }

    /// <summary>Installs the translation; <paramref name="level"/> is the mapping size <c>kvm_mmu_hugepage_adjust</c> allowed.</summary>
    FaultOutcome Install(VirtualMachine vm, Vcpu vcpu, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write, HostPageLevel level);
}
