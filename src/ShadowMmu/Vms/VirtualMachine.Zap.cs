using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>Zapping SPTEs, aging them, and the remote TLB flush.</summary>
public sealed partial class VirtualMachine
{
    /// <summary>
    /// Clears every present SPTE in [start, end). Each is exchanged atomically so that an accessed or dirty bit a
    /// vCPU sets concurrently is not lost, then passed to the host frame (<c>kvm_set_pfn_accessed/dirty</c>, the
    /// ≤ v6.12 behaviour). Caller holds the MMU write lock and flushes afterwards if the count is non-zero.
    /// </summary>
    private int ZapGfnRange(ulong start, ulong end)
    {
        Debug.Assert(_mmuLock.IsHeldForWrite, "SPTEs are zapped under the MMU write lock, so no fault installs behind the zap");
        if ((Options.Mutations & ShadowMutations.NoZap) != 0)
        {
            return 0;
        }

        var state = new ZapState(AddressSpace.Host.Memory, Options.Mutations);
        if (Shadow is { } shadow)
        {
            shadow.ZapRmapRange(start, end, ref state); // kvm_unmap_gfn_range -> kvm_zap_rmap
            return state.Zapped;
        }

        Table.ForEachLeaf(start, end, ref state, static (ulong _, ShadowPageTable.Leaf leaf, int from, int to, ref ZapState s) =>
        {
            ZapHugeSpte(leaf, from, to, ref s);
            var entries = leaf.Entries;
            for (var i = from; i < to; i++)
            {
                ZapSpte(ref entries[i], ref s);
            }
        });
        return state.Zapped;
    }

    /// <summary>
    /// Clears one SPTE and passes its accessed and dirty bits to the host frame (<c>mmu_spte_clear_track_bits</c>);
    /// the one piece of zapping TDP and shadow mode share. Returns the old SPTE if it was present, else 0.
    /// </summary>
    internal static ulong ZapSpte(ref ulong entry, ref ZapState s)
    {
        var old = Volatile.Read(ref entry);
        if (!Spte.IsPresent(old))
        {
            return 0;
        }

        // A vCPU only ever adds A or D, by compare-exchange on the value it walked. With both set nothing
        // can change under us and a plain store is exact; otherwise exchange so a late bit is not lost.
        if ((old & (Spte.Accessed | Spte.Dirty)) == (Spte.Accessed | Spte.Dirty))
        {
            Volatile.Write(ref entry, 0UL);
        }
        else
        {
            old = Interlocked.Exchange(ref entry, 0UL);
            if (!Spte.IsPresent(old))
            {
                return 0;
            }
        }

        s.Zapped++;
        var flags = FrameFlags.None;
        if ((old & Spte.Accessed) != 0 && (s.Mutations & ShadowMutations.NoYoungPropagation) == 0)
        {
            flags |= FrameFlags.Referenced;
        }

        if ((old & Spte.Dirty) != 0 && (s.Mutations & ShadowMutations.NoDirtyPropagation) == 0)
        {
            flags |= FrameFlags.Dirty;
        }

        var pfn = Spte.PfnOf(old);
        if (flags != FrameFlags.None && (s.Memory.Flags(pfn) & flags) != flags)
        {
            s.Memory.SetFlags(pfn, flags); // kvm_set_pfn_accessed / kvm_set_pfn_dirty, one atomic
        }

        return old;
    }

    /// <summary>
    /// Aging (<c>kvm_age_gfn</c> / <c>kvm_test_age_gfn</c>): test (and clear) the accessed bits of the SPTEs mapping
    /// [start, end), flushing the TLBs if asked and something was young, since a cached translation would otherwise
    /// keep the page looking idle. Touches neither the sequence nor the in-progress count.
    /// </summary>
    internal bool OnAge(Hva start, Hva end, bool clear, bool flush)
    {
        if ((Options.Mutations & ShadowMutations.NoYoungPropagation) != 0)
        {
            Stats.Aged(false);
            return false;
        }

        var young = false;
        _mmuLock.EnterRead();
        try
        {
            foreach (var slot in _memslots)
            {
                if (slot.GfnRangeOf(start, end, out var gfnStart, out var gfnEnd))
                {
                    young |= AgeGfnRange(gfnStart, gfnEnd, clear);
                }
            }

            if (young && flush)
            {
                FlushRemoteTlbs(aging: true);
            }
        }
        finally
        {
            _mmuLock.ExitRead();
        }

        Stats.Aged(young);
        return young;
    }

    /// <summary>Tests (and clears) the accessed bits in [start, end). Caller holds the MMU lock.</summary>
    private bool AgeGfnRange(ulong start, ulong end, bool clear)
    {
        Debug.Assert(_mmuLock.IsHeld, "aging walks the shadow table under the MMU lock, which keeps its leaves alive");
        if (Shadow is { } shadow)
        {
            return shadow.AgeRmapRange(start, end, clear); // kvm_age_rmap / kvm_test_age_rmap
        }

        var young = clear;
        var found = false;
        Table.ForEachLeaf(start, end, ref found, (ulong _, ShadowPageTable.Leaf leaf, int from, int to, ref bool any) =>
        {
            var huge = Volatile.Read(ref leaf.Huge);
            if (Spte.IsPresent(huge) && (huge & Spte.Accessed) != 0)
            {
                any = true; // the 2 MiB SPTE's accessed bit stands for every gfn under it
                if (young)
                {
                    Interlocked.CompareExchange(ref leaf.Huge, huge & ~Spte.Accessed, huge);
                }
            }

            for (var i = from; i < to; i++)
            {
                ref var entry = ref leaf.Entries[i];
                var spte = Volatile.Read(ref entry);
                if (!Spte.IsPresent(spte) || (spte & Spte.Accessed) == 0)
                {
                    continue;
                }

                any = true;
                if (young)
                {
                    // A zap may have raced us: only clear the bit of the entry we read.
                    Interlocked.CompareExchange(ref entry, spte & ~Spte.Accessed, spte);
                }
            }
        });
        return found;
    }

    /// <summary>
    /// <c>kvm_flush_remote_tlbs</c>: post <see cref="VcpuRequests.TlbFlush"/> to every vCPU (full fence), then wait
    /// until each vCPU seen in guest mode has left it once, the way an IPI with wait completes. A vCPU outside
    /// guest mode services the request before it next enters. Returns how many vCPUs had to be waited for. Caller
    /// holds the MMU lock (for write after a zap, so no fault re-installs before the vCPUs dropped their entries).
    /// </summary>
    /// <remarks>
    /// An aging flush only posts the requests: aging frees and protects nothing, so nothing depends on when the
    /// vCPUs drop their entries; each does at its next access, and the walk that follows sets the accessed bit
    /// again. Waiting would make every young page of an aging pass a full shootdown (x86 KVM elides the flush
    /// altogether, <c>CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG</c>).
    /// </remarks>
    /// <param name="aging">Post the requests without waiting (see remarks).</param>
    /// <param name="mayBlock">False under a non-blockable range: wait by spinning only, never sleeping.</param>
    internal int FlushRemoteTlbs(bool aging = false, bool mayBlock = true)
    {
        Debug.Assert(aging ? _mmuLock.IsHeld : _mmuLock.IsHeldForWrite, "a remote TLB flush runs before the zapper drops the MMU lock");
        if ((Options.Mutations & ShadowMutations.NoTlbFlush) != 0)
        {
            return 0;
        }

        var t0 = Stopwatch.GetTimestamp();
        foreach (var vcpu in _vcpus)
        {
            vcpu.MakeRequest(VcpuRequests.TlbFlush);
        }

        if (aging)
        {
            Stats.Flushed(0, 0, aging: true);
            return 0;
        }

        var waited = 0;
        foreach (var vcpu in _vcpus)
        {
            var seen = vcpu.ModeSequence;
            if ((seen & 1) == 0)
            {
                continue;
            }

            waited++;
            var spin = new SpinWait();
            // Named wait: the IPI acknowledgement. The vCPU has acknowledged once it left the guest-mode stretch we
            // saw, or once it consumed the flush request: it consumes requests only outside guest mode and clears its
            // TLB before entering again. The second test matters: a vCPU that took the request just before we read its
            // mode shows a new guest-mode stretch, and may run on TLB hits without another transition for a long time.
            while (vcpu.ModeSequence == seen && vcpu.HasRequest(VcpuRequests.TlbFlush))
            {
                // Spin, then sleep: sched_yield does not give the vCPU we wait for our core. A non-blockable caller
                // (the OOM reaper) may not sleep: it only spins and yields, as smp_call_function_many's wait does.
                SchedulingPoint.SpinOnce(ref spin, "kvm_make_all_cpus_request wait", mayBlock ? 20 : -1);
            }
        }

        Stats.Flushed(Stopwatch.GetTimestamp() - t0, waited, aging);
        return waited;
    }

    internal struct ZapState(PhysicalMemory memory, ShadowMutations mutations)
    {
        public readonly PhysicalMemory Memory = memory;
        public readonly ShadowMutations Mutations = mutations;
        public int Zapped;
    }
}
