using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// One running guest: its VMM process (an address space with one VMA per memslot), its VM, and its oracle.
/// </summary>
/// <remarks>
/// Several guests may share one VMM process (<see cref="GuestSpec.AddressSpaceOf"/>): each maps its slots into it at
/// addresses of its own and registers its own VM's notifier, so every invalidation of the space reaches every VM,
/// and each finds what it maps through its own memslots (<c>__kvm_handle_hva_range</c>).
/// </remarks>
public sealed partial class GuestInstance
{
    /// <summary>One fault in this many is preempted inside its window (see <see cref="VmOptions.PreemptInFaultWindowEvery"/>).</summary>
    public const int PreemptionRate = 8;

    private readonly SlotLayout[] _slots;

    /// <summary>
    /// Maps the guest's slots into <paramref name="vmm"/> (the address space of the guest named by
    /// <see cref="GuestSpec.AddressSpaceOf"/>), or into a new VMM address space when it is null, and creates the VM.
    /// </summary>
    public GuestInstance(GuestSpec spec, HostSystem host, NotifierProfile profile, ShadowMutations mutations, bool gupFast = false,
        AddressSpace? vmm = null)
    {
        Spec = spec;
        Mm = vmm ?? host.CreateAddressSpace($"vmm-{spec.Name}", profile);
        var slots = new SlotLayout?[spec.Memslots.Count];
        foreach (var (slot, id) in spec.Memslots.Select((s, i) => (s, i)).Where(p => p.s.AliasOf is null))
        {
            var pages = slot.Size / ScenarioUnits.PageSize;
            var file = slot.Backing is VmaKind.FilePrivate or VmaKind.FileShared
                ? host.CreateFile($"{spec.Name}-slot{id}.img", pages, writeNotify: spec.WriteNotify, xip: spec.FileMapping == FileMapping.Xip)
                : null;
            var protection = slot.ReadOnly ? Protection.Read : Protection.ReadWrite;
            var hva = Mm.Mmap((ulong)slot.Size, slot.Backing, protection, file);
            if (spec.Thp != ThpMode.Never && slot.Backing == VmaKind.AnonymousPrivate)
            {
                // The guest's THP setting applies to its own slots; in a shared VMM process the space takes the first one set.
                Mm.Thp = Mm.Thp == ThpMode.Never ? spec.Thp : Mm.Thp;
                if (spec.Thp == ThpMode.Madvise)
                {
                    Mm.MadviseHugePage(hva, (ulong)slot.Size, huge: true);
                }
            }

            if (spec.FileMapping == FileMapping.Nonlinear && slot.Backing == VmaKind.FileShared)
            {
                Mm.RemapFilePagesNonlinear(hva);
            }

            slots[id] = new SlotLayout(id, slot, hva, file);
        }

        // An alias maps no memory of its own: its userspace_addr is the aliased slot's (the loader checked it exists).
        foreach (var (slot, id) in spec.Memslots.Select((s, i) => (s, i)).Where(p => p.s.AliasOf is not null))
        {
            var target = slots.First(l => l is not null && l.Spec.Base == slot.AliasOf)!;
            slots[id] = new SlotLayout(id, slot, target.Hva, target.File) { AliasOfFirstPage = target.FirstPage };
        }

        _slots = [.. slots.Select(l => l!)];
        Vm = new VirtualMachine(spec.Name, Mm,
            _slots.Select(s => new Memslot(s.Id, (ulong)s.FirstPage, (ulong)(s.EndPage - s.FirstPage), s.Hva, s.Spec.ReadOnly)),
            new VmOptions { Vcpus = spec.Vcpus, Mutations = mutations, PreemptInFaultWindowEvery = PreemptionRate, Mmu = spec.Mmu, GupFast = gupFast,
                TlbEntries = spec.TlbEntries });
        if (spec.Mmu == MmuMode.Shadow)
        {
            Kernel = new GuestKernel.GuestKernel(Vm, _slots, spec.Pages, spec.Vcpus, spec.PageTableChurn);
        }

        Oracle = new GuestOracle(spec.Name, spec.Pages, spec.Vcpus, host.Violations,
            [.. _slots.Where(l => l.AliasOfFirstPage is not null).Select(l => new PageAlias(l.FirstPage, l.EndPage, l.AliasOfFirstPage!.Value))]);
        _windows = [.. Enumerable.Repeat(new VcpuWindow(TimeSpan.MinValue, TimeSpan.MinValue), spec.Vcpus)];
    }

    public GuestSpec Spec { get; }

    /// <summary>Without <see cref="RunOptions.CheckAfterOps"/>, one host operation in this many is checked.</summary>
    public const int AfterOperationSampling = 16;

    private long _operations;

    /// <summary>Check after every operation (<see cref="RunOptions.CheckAfterOps"/>), not one in <see cref="AfterOperationSampling"/>.</summary>
    public bool CheckEveryOperation { get; set; }

    /// <summary>
    /// A munmap, madvise or mprotect of [<paramref name="hva"/>, +<paramref name="length"/>) returned: checks (always,
    /// or sampled) that the VM keeps no translation the host no longer backs (<see cref="VirtualMachine.CheckAfterOperation"/>).
    /// </summary>
    public void AfterOperation(Hva hva, ulong length)
    {
        if (CheckEveryOperation || Interlocked.Increment(ref _operations) % AfterOperationSampling == 0)
        {
            Vm.CheckAfterOperation(hva, hva + length);
        }
    }

    /// <summary><see cref="AfterOperation(Hva, ulong)"/> when <paramref name="status"/> says the operation succeeded; returns it.</summary>
    public HostStatus AfterOperation(HostStatus status, Hva hva, ulong length)
    {
        if (status == HostStatus.Ok)
        {
            AfterOperation(hva, length);
        }

        return status;
    }

    public string Name => Spec.Name;

    public AddressSpace Mm { get; }

    public VirtualMachine Vm { get; }

    public GuestOracle Oracle { get; }

    /// <summary>The guest-kernel model of a shadow-mode guest (its page tables), else null.</summary>
    public GuestKernel.GuestKernel? Kernel { get; }

    public IReadOnlyList<SlotLayout> Slots => _slots;

    /// <summary>The slot holding guest page <paramref name="page"/>, or null (a hole: MMIO).</summary>
    public SlotLayout? SlotOf(long page)
    {
        foreach (var slot in _slots)
        {
            if (page >= slot.FirstPage && page < slot.EndPage)
            {
                return slot;
            }
        }

        return null;
    }

    /// <summary>The parts of guest pages [firstPage, endPage) that memslots back, per slot.</summary>
    public IEnumerable<(SlotLayout Slot, long FirstPage, long EndPage)> Pieces(long firstPage, long endPage)
    {
        foreach (var slot in _slots)
        {
            var from = Math.Max(firstPage, slot.FirstPage);
            var to = Math.Min(endPage, slot.EndPage);
            if (from < to)
            {
                yield return (slot, from, to);
            }
        }
    }

    /// <summary>Protocol state that must hold once the guest is quiet (reference invariants I5 and I14).</summary>
    public IEnumerable<string> EndOfRunProblems()
    {
        // After an exit's release the count may stay raised: mmu_notifier_release unhashes the VM's subscription,
        // so the end of a start that raced with it (reclaim, migration) never reaches the VM. Nothing can fault then.
        if (Vm.InvalidateInProgress != 0 && !Vm.Released)
        {
            yield return $"{Name}: mmu_invalidate_in_progress is {Vm.InvalidateInProgress} with no invalidation running";
        }

        if (Mm.Notifiers.OpenSections != 0)
        {
            yield return $"{Name}: {Mm.Notifiers.OpenSections} start/end sections never ended";
        }

        var totals = Vm.VcpuTotals();
        if (totals.GupReferencesTaken != totals.GupReferencesDropped)
        {
            yield return $"{Name}: {totals.GupReferencesTaken} gup references taken but {totals.GupReferencesDropped} dropped";
        }
    }
}
