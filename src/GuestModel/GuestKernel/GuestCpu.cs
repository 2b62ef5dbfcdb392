using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.GuestModel.GuestKernel;

/// <summary>
/// The guest kernel as it runs on one vCPU: the processes that vCPU schedules, their page tables, and the page-table
/// operations a kernel performs (map, unmap, protect, process switch, fork, exit), each a sequence of guest stores
/// to table frames followed by the TLB flush the architecture requires: INVLPG after changing one entry, a CR3 load
/// after dropping a whole table. Used only by the vCPU's own thread.
/// </summary>
public sealed partial class GuestCpu
{
    /// <summary>Processes a vCPU keeps at most.</summary>
    public const int MaxProcesses = 3;

    private readonly GuestKernel _kernel;
    private readonly Vcpu _vcpu;
    private readonly GuestTableMemory _tables;
    private readonly List<GuestProcess> _processes = [];
    private ulong _random;

    public GuestCpu(GuestKernel kernel, Vcpu vcpu, ulong seed)
    {
        _kernel = kernel;
        _vcpu = vcpu;
        _tables = vcpu.Vm.Shadow!.Tables;
        _random = seed ^ ((ulong)vcpu.Index * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>The process running now.</summary>
    public GuestProcess Current { get; private set; } = null!;

    public IReadOnlyList<GuestProcess> Processes => _processes;

    /// <summary>Page-table events performed (map, unmap, protect, remap, region unmap, switch, fork, exit).</summary>
    public long Events { get; private set; }

    /// <summary>Guest page faults the kernel handled by mapping or unprotecting the page.</summary>
    public long FaultsFixed { get; private set; }

    /// <summary>Creates the first process and loads its CR3. Call on the vCPU's thread before its first access.</summary>
    public void Start()
    {
        Current = NewProcess() ?? throw new InvalidOperationException("no frame for the first page table");
        _vcpu.LoadCr3(Current.Cr3, Current.Pcid);
    }

    /// <summary>The guest virtual page of workload page <paramref name="page"/>.</summary>
    public static ulong GvpnOf(long page) => GuestKernel.DataBase + (ulong)page;

    /// <summary>
    /// The translation the current process's page tables give for workload page <paramref name="page"/>, read by the
    /// guest from its own tables: the reference the oracle checks the shadow MMU against.
    /// </summary>
    public GuestWalk Translate(long page, bool write) => GuestWalker.Walk(_tables, Current.Cr3, GvpnOf(page), write);

    /// <summary>
    /// The guest's page-fault handler for workload page <paramref name="page"/>: a missing page is mapped (writable if
    /// this vCPU owns its frame), a write to an owned read-only page makes it writable. Anything else stays a fault.
    /// </summary>
    public void HandlePageFault(long page, bool write)
    {
        var walk = Translate(page, write);
        var owned = page % _kernel.Vcpus == _vcpu.Index;
        if (walk.Fault == GuestFaultKind.NotPresent)
        {
            var gfn = _kernel.TargetOf(page);
            if (Map(page, gfn, owned && Writable(gfn)))
            {
                FaultsFixed++;
            }
        }
        else if (walk.Fault == GuestFaultKind.WriteProtect && owned && Writable(walk.Gfn))
        {
            SetLeaf(page, Gpte.Make(walk.Gfn, writable: true));
            FaultsFixed++;
        }
    }

    /// <summary>Maps workload page <paramref name="page"/> to <paramref name="gfn"/>, building missing tables; false if no frame was free.</summary>
    public bool Map(long page, ulong gfn, bool writable)
    {
        var gvpn = GvpnOf(page);
        var table = Current.Cr3;
        for (var level = Gpte.Levels; level > 1; level--)
        {
            var index = Gpte.IndexOf(gvpn, level);
            var gpte = _tables.Read(table, index);
            if (!Gpte.IsPresent(gpte))
            {
                if (AllocTable(Current) is not { } fresh)
                {
                    return false;
                }

                gpte = Gpte.Make(fresh, writable: true);
                _vcpu.WriteGuestPte(table, index, gpte);
            }

            table = Gpte.GfnOf(gpte);
        }

        _vcpu.WriteGuestPte(table, Gpte.IndexOf(gvpn, 1), Gpte.Make(gfn, writable));
        _vcpu.Invlpg(gvpn);
        return true;
    }

    /// <summary>Rewrites the leaf gpte of workload page <paramref name="page"/> if its table exists, then INVLPG.</summary>
    private void SetLeaf(long page, ulong gpte)
    {
        var gvpn = GvpnOf(page);
        if (LeafTable(Current, gvpn) is { } table)
        {
            _vcpu.WriteGuestPte(table, Gpte.IndexOf(gvpn, 1), gpte);
            _vcpu.Invlpg(gvpn);
        }
    }

    /// <summary>The frame of the leaf table covering <paramref name="gvpn"/> in <paramref name="process"/>, or null.</summary>
    private ulong? LeafTable(GuestProcess process, ulong gvpn)
    {
        var table = process.Cr3;
        for (var level = Gpte.Levels; level > 1; level--)
        {
            var gpte = _tables.Read(table, Gpte.IndexOf(gvpn, level));
            if (!Gpte.IsPresent(gpte))
            {
                return null;
            }

            table = Gpte.GfnOf(gpte);
        }

        return table;
    }

    private bool Writable(ulong gfn) => _vcpu.Vm.FindMemslot(gfn) is { ReadOnly: false } && !_kernel.IsTableFrame(gfn);

    /// <summary>A zeroed table frame for <paramref name="owner"/>; when the pool is empty another process exits first.</summary>
    private ulong? AllocTable(GuestProcess owner)
    {
        var frame = _kernel.AllocFrame();
        if (frame is null && _processes.FirstOrDefault(p => p != Current && p != owner) is { } victim)
        {
            Exit(victim);
            frame = _kernel.AllocFrame();
        }

        if (frame is not { } gfn)
        {
            return null;
        }

        _vcpu.ClearGuestTable(gfn); // clear_page on the new table
        owner.TableFrames.Add(gfn);
        return gfn;
    }

    private GuestProcess? NewProcess()
    {
        if (_kernel.AllocFrame() is not { } cr3)
        {
            return null;
        }

        _vcpu.ClearGuestTable(cr3);
        var process = new GuestProcess(_kernel.NextPcid(), cr3);
        _processes.Add(process);
        return process;
    }

    /// <summary>A process that is not running exits: its table frames go back to the pool (their shadows stay until reused).</summary>
    private void Exit(GuestProcess process)
    {
        _processes.Remove(process);
        foreach (var frame in process.TableFrames)
        {
            _kernel.FreeFrame(frame);
        }

        Events++;
    }

    private int NextInt(int bound) => (int)(Workloads.SplitMix64.Next(ref _random) % (ulong)bound);
}
