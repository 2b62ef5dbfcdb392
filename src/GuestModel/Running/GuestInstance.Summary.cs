using System.Diagnostics;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory;

namespace Hypervisor.GuestModel.Running;

/// <summary>The guest's counters as summaries: periodic (guest totals) and final (per vCPU, with the memory digest).</summary>
public sealed partial class GuestInstance
{
    /// <summary>When each vCPU entered and left its access loop; each entry written only by that vCPU's thread.</summary>
    private readonly VcpuWindow[] _windows;

    private string? _memoryDigest;
    private long _digestNonZeroPages;

    /// <summary>The vCPU <paramref name="vcpu"/> entered its access loop at run time <paramref name="at"/>.</summary>
    internal void VcpuEntered(int vcpu, TimeSpan at) => _windows[vcpu] = new VcpuWindow(at, TimeSpan.MinValue);

    /// <summary>The vCPU <paramref name="vcpu"/> ended a time slice (its last, maybe) at run time <paramref name="at"/>.</summary>
    internal void VcpuRan(int vcpu, TimeSpan at) => _windows[vcpu] = _windows[vcpu] with { Left = at };

    /// <summary>The latest time a vCPU of this guest ran, or null if none ran.</summary>
    internal TimeSpan? LastVcpuLeft =>
        _windows.Where(w => w.Left != TimeSpan.MinValue).Select(w => (TimeSpan?)w.Left).DefaultIfEmpty(null).Max();

    /// <summary>
    /// Hashes the content of every page that memslots back (FNV-1a over page number and word, slot by slot), as a
    /// guest would find it now. Call once the vCPUs and activities stopped and before the VMM exits; a guest whose
    /// VMM already exited (an <c>exit</c> or <c>oom</c> activity) keeps no digest.
    /// </summary>
    public void TakeMemoryDigest()
    {
        Debug.Assert(Vm.Vcpus.All(v => !v.InGuestMode), "the digest is taken with every vCPU out of guest mode (the run has stopped)");
        if (Mm.IsDead)
        {
            return;
        }

        const ulong offsetBasis = 14695981039346656037UL;
        const ulong prime = 1099511628211UL;
        var hash = offsetBasis;
        long nonZero = 0;
        foreach (var slot in _slots)
        {
            for (var page = slot.FirstPage; page < slot.EndPage; page++)
            {
                var status = Mm.InspectRead(slot.HvaOfPage(page), out var value);
                if (status != HostStatus.Ok)
                {
                    // An unmapped or inaccessible page (a plain munmap, a read-protected range) hashes as its status.
                    value = ~(ulong)status;
                }
                else if (value != 0)
                {
                    nonZero++;
                }

                hash = (hash ^ (ulong)page) * prime;
                hash = (hash ^ value) * prime;
            }
        }

        _memoryDigest = hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        _digestNonZeroPages = nonZero;
    }

    /// <summary>Periodic statistics: the guest's totals, without the per-vCPU block and the digest.</summary>
    public GuestSummary Summarize() => Summarize(final: false);

    /// <summary>The guest's counters; <paramref name="final"/> adds the per-vCPU block and the memory digest.</summary>
    public GuestSummary Summarize(bool final)
    {
        var summary = SummarizeTotals();
        return final
            ? summary with { PerVcpu = [.. Vm.Vcpus.Select(v => SummarizeVcpu(v.Index))], MemoryDigest = _memoryDigest, DigestNonZeroPages = _digestNonZeroPages }
            : summary;
    }

    private VcpuSummary SummarizeVcpu(int index)
    {
        var counters = Vm.Vcpus[index].Stats.Snapshot();
        var window = _windows[index];
        var ran = window.Left != TimeSpan.MinValue;
        var seconds = ran ? (window.Left - window.Entered).TotalSeconds : 0;
        return new VcpuSummary
        {
            Vcpu = index,
            Accesses = counters.Accesses,
            Writes = counters.Writes,
            TlbHits = counters.TlbHits,
            Faults = counters.Faults,
            SptesInstalled = counters.SptesInstalled,
            FaultRetries = counters.TotalRetries,
            MmioExits = counters.MmioExits,
            HostFaultExits = counters.HostFaultErrors,
            RetriesByReason = counters.Retries.Where(r => r.Value > 0).ToDictionary(r => Names.Kebab(r.Key.ToString()), r => r.Value),
            FirstAccessSeconds = ran ? Math.Round(window.Entered.TotalSeconds, 6) : -1,
            LastAccessSeconds = ran ? Math.Round(window.Left.TotalSeconds, 6) : -1,
            AccessesPerSecond = seconds > 0 ? Math.Round(counters.Accesses / seconds) : 0,
        };
    }

    /// <summary>Run times at which a vCPU entered its access loop and ended its latest slice; <see cref="TimeSpan.MinValue"/> for not yet.</summary>
    private readonly record struct VcpuWindow(TimeSpan Entered, TimeSpan Left);

    private GuestSummary SummarizeTotals()
    {
        var vcpus = Vm.VcpuTotals();
        var vm = Vm.Stats.Snapshot();
        return new GuestSummary
        {
            Name = Name,
            Vcpus = Spec.Vcpus,
            Accesses = vcpus.Accesses,
            Writes = vcpus.Writes,
            TlbHits = vcpus.TlbHits,
            TlbMisses = vcpus.TlbMisses,
            Faults = vcpus.Faults,
            FaultRetries = vcpus.TotalRetries,
            MmioExits = vcpus.MmioExits,
            HostFaultExits = vcpus.HostFaultErrors,
            SptesInstalled = vcpus.SptesInstalled,
            Invalidations = vm.Invalidations,
            InvalidatePages = vm.InvalidatePages,
            SptesZapped = vm.SptesZapped,
            TlbFlushes = vm.TlbFlushes,
            AgingTlbFlushes = vm.AgingTlbFlushes,
            TlbFlushWaitMicros = vm.FlushWait.TotalMicroseconds,
            RefusedStarts = vm.RefusedStarts,
            AfterOperationChecks = Vm.AfterOperationChecks,
            YoungCalls = vm.YoungCalls,
            YoungTrue = vm.YoungTrue,
            Mmu = Names.Kebab(Spec.Mmu.ToString()),
            GuestPageFaults = Vm.Shadow?.Stats.GuestPageFaults ?? 0,
            EmulatedPteWrites = Vm.Shadow?.Stats.EmulatedWrites ?? 0,
            Invlpgs = Vm.Shadow?.Stats.Invlpgs ?? 0,
            ShadowPagesCreated = Vm.Shadow?.Stats.PagesCreated ?? 0,
            RetriesByReason = vcpus.Retries.ToDictionary(r => Names.Kebab(r.Key.ToString()), r => r.Value),
            InvalidationsByEventKind = vm.InvalidationsByCause.Where(c => c.Value > 0)
                .ToDictionary(c => Names.Kebab(c.Key.ToString()), c => c.Value),
            InvalidationsByNotifierEvent = vm.InvalidationsByEvent.Where(c => c.Value > 0)
                .ToDictionary(c => Names.Kebab(c.Key.ToString()), c => c.Value),
        };
    }
}
