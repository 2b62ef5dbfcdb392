using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Faults;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// 2 MiB SPTEs in TDP mode: the install <c>kvm_mmu_hugepage_adjust</c> allows, the zap that removes a huge SPTE whole
/// when any part of it is invalidated (the TDP iterator rounds the gfn down to each level), and the check that a huge
/// SPTE exists only over a host PMD leaf of the same frames (P15, P16).
/// </summary>
public sealed partial class VirtualMachine
{
    private long _hugeSptesInstalled;

    /// <summary>2 MiB SPTEs installed so far.</summary>
    public long HugeSptesInstalled => Interlocked.Read(ref _hugeSptesInstalled);

    /// <summary>Leaves currently holding a 2 MiB SPTE (walks the table).</summary>
    public long CountHugeSptes() => Table.CountHugeLeaves();

    /// <summary>
    /// The 2 MiB install: the pfn rounded down to the huge page (<c>pfn &amp;= ~mask</c>, after
    /// <c>VM_BUG_ON((gfn &amp; mask) != (pfn &amp; mask))</c>), by compare-exchange on the leaf's huge entry. Null when it
    /// must fall back to 4 KiB: 4 KiB SPTEs are present in the range (the kernel would replace the lower table; here the
    /// region stays small until a zap empties it), or the frames are not aligned. Caller holds the MMU lock (read).
    /// </summary>
    private FaultOutcome? TryInstallTdpHuge(Vcpu vcpu, ShadowPageTable.Leaf leaf, Memslot slot, ulong gfn, Hva hva, GupResult gup, bool write)
    {
        Debug.Assert(_mmuLock.IsHeld, "a TDP install happens under the MMU lock");
        const int Mask = ShadowPageTable.LeafEntries - 1;
        var stats = vcpu.Stats;
        Debug.Assert((gup.Pfn.Value & Mask) == (int)(gfn & Mask), "VM_BUG_ON((gfn & mask) != (pfn & mask)): the host PMD maps aligned frames");
        if ((gup.Pfn.Value & Mask) != (int)(gfn & Mask) || leaf.AnySmallPresent())
        {
            return null;
        }

        var head = new Pfn(gup.Pfn.Value & ~Mask);
        var writable = gup.Writable && !slot.ReadOnly;
        var old = Volatile.Read(ref leaf.Huge);
        if (Spte.IsPresent(old))
        {
            if (Spte.PfnOf(old) == head && (!write || Spte.IsWritable(old)))
            {
                return FaultOutcome.Installed;
            }

            if (Spte.PfnOf(old) != head || !writable)
            {
                stats.Retries[(int)RetryReason.InstallRaced]++;
                return FaultOutcome.Retry;
            }
        }

        var bits = Spte.Huge | Spte.Accessed | (writable ? Spte.Writable : 0) | (gup.Writable ? Spte.HostWritable : 0)
            | (write ? Spte.Dirty : 0);
        _monitor.CheckInstall(gfn, hva, gup.Pfn, vcpu.Index);
        var fresh = Spte.Make(head, bits);
        if (Interlocked.CompareExchange(ref leaf.Huge, fresh, old) != old)
        {
            stats.Retries[(int)RetryReason.InstallRaced]++;
            return FaultOutcome.Retry;
        }

        if (leaf.AnySmallPresent())
        {
            Interlocked.CompareExchange(ref leaf.Huge, old, fresh); // a 4 KiB install raced this one: back out
            stats.Retries[(int)RetryReason.InstallRaced]++;
            return FaultOutcome.Retry;
        }

        stats.SptesInstalled++;
        Interlocked.Increment(ref _hugeSptesInstalled);
        return FaultOutcome.Installed;
    }

    /// <summary>
    /// Zaps the 2 MiB SPTE of a leaf the zap range overlaps (<c>tdp_mmu_zap_leafs</c>: the iterator visits the 2M level
    /// for any gfn in it), passing its accessed and dirty bits to all 512 frames. With
    /// <see cref="ShadowMutations.HugeSptePartialZap"/> a range covering only part of it leaves it.
    /// </summary>
    private static void ZapHugeSpte(ShadowPageTable.Leaf leaf, int from, int to, ref ZapState s)
    {
        if (!Spte.IsPresent(Volatile.Read(ref leaf.Huge))
            || ((s.Mutations & ShadowMutations.HugeSptePartialZap) != 0 && (from != 0 || to != ShadowPageTable.LeafEntries)))
        {
            return;
        }

        var old = ZapSpte(ref leaf.Huge, ref s);
        if (old == 0)
        {
            return;
        }

        // ZapSpte passed the bits to the head frame; the other 511 get them too (the folio's flags in the kernel).
        var flags = FrameFlags.None;
        flags |= (old & Spte.Accessed) != 0 && (s.Mutations & ShadowMutations.NoYoungPropagation) == 0 ? FrameFlags.Referenced : 0;
        flags |= (old & Spte.Dirty) != 0 && (s.Mutations & ShadowMutations.NoDirtyPropagation) == 0 ? FrameFlags.Dirty : 0;
        if (flags == FrameFlags.None)
        {
            return;
        }

        var head = Spte.PfnOf(old);
        for (var k = 1; k < ShadowPageTable.LeafEntries; k++)
        {
            var pfn = new Pfn(head.Value + k);
            if ((s.Memory.Flags(pfn) & flags) != flags)
            {
                s.Memory.SetFlags(pfn, flags);
            }
        }
    }

    /// <summary>
    /// P15 for the after-operation check: a 2 MiB SPTE over [<paramref name="headGfn"/>, +512) must sit over a host PMD
    /// leaf mapping the same 512 frames. Returns 1 if it does not (and reports it), else 0. Caller holds the MMU write lock.
    /// </summary>
    private int CheckHugeSpte(Memslot slot, ulong headGfn, ulong huge)
    {
        var hva = slot.HvaOf(headGfn);
        var pmd = AddressSpace.HugePmdOf(hva);
        if ((Pte.IsPresent(pmd) && Pte.PfnOf(pmd) == Spte.PfnOf(huge) && (!Spte.IsWritable(huge) || Pte.IsWritable(pmd)))
            || _monitor.Covers(hva))
        {
            return 0;
        }

        var host = !Pte.IsPresent(pmd) ? "maps no PMD leaf there" : Pte.PfnOf(pmd) != Spte.PfnOf(huge)
            ? $"maps frames from {Pte.PfnOf(pmd).Value} there" : "maps it read-only there";
        Violations.Report(ShadowViolations.HugeSpteWithoutHostPmd, new AccessSite(Name, -1, headGfn), Spte.PfnOf(huge).Value,
            $"after the host operation returned, a 2 MiB SPTE maps gfn 0x{headGfn:x} to frames from {Spte.PfnOf(huge).Value}, but the host {host}");
        return 1;
    }
}
