using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.Benchmarks.ShadowMmu;

/// <summary>
/// The shadow MMU's hot paths: a TLB-hit access, a cold demand fault through get_user_pages, and the zap of a fully
/// mapped 1 GiB range through the notifier, in both MMU modes. In shadow mode guest virtual page g maps gfn g through
/// guest page tables built beforehand (in frames above the data), the CR3 loaded: a cold fault also walks the guest
/// tables and builds shadow pages, and the zap goes through the reverse map.
/// </summary>
[MemoryDiagnoser]
public class ShadowMmuBenchmarks
{
    private const int HotPages = 32;
    private const int HitsPerInvoke = 1 << 20;
    private const int ColdPages = 16_384;
    private const ulong GiBPages = 262_144;

    private HostSystem _host = null!;
    private AddressSpace _mm = null!;
    private VirtualMachine _vm = null!;
    private Vcpu _vcpu = null!;
    private Hva _base;

    [Params(MmuMode.Tdp, MmuMode.Shadow)]
    public MmuMode Mmu { get; set; }

    [GlobalSetup(Targets = [nameof(TlbHitAccess), nameof(TlbHitWrite)])]
    public void SetupHot()
    {
        Build(64L << 20, HotPages);
        _vcpu.EnterGuest();
        for (var g = 0UL; g < HotPages; g++)
        {
            Touch(g, write: true);
        }
    }

    /// <summary>Reads through the software TLB (32 pages, all cached): the per-access cost with no miss.</summary>
    [Benchmark(OperationsPerInvoke = HitsPerInvoke)]
    public ulong TlbHitAccess()
    {
        ulong sum = 0;
        if (Mmu == MmuMode.Tdp)
        {
            for (var i = 0; i < HitsPerInvoke; i++)
            {
                sum += _vcpu.Access(new Gfn((ulong)(i & (HotPages - 1))), write: false, 0).Value;
            }
        }
        else
        {
            for (var i = 0; i < HitsPerInvoke; i++)
            {
                sum += _vcpu.AccessVirtual((ulong)(i & (HotPages - 1)), write: false, 0).Value;
            }
        }

        return sum;
    }

    /// <summary>
    /// Writes through the software TLB (32 pages, all cached writable and dirty): the per-access cost of a store with
    /// no miss, including the frame-state check that catches writes to freed or write-watched frames.
    /// </summary>
    [Benchmark(OperationsPerInvoke = HitsPerInvoke)]
    public ulong TlbHitWrite()
    {
        ulong sum = 0;
        if (Mmu == MmuMode.Tdp)
        {
            for (var i = 0; i < HitsPerInvoke; i++)
            {
                sum += _vcpu.Access(new Gfn((ulong)(i & (HotPages - 1))), write: true, (ulong)i).Value;
            }
        }
        else
        {
            for (var i = 0; i < HitsPerInvoke; i++)
            {
                sum += _vcpu.AccessVirtual((ulong)(i & (HotPages - 1)), write: true, (ulong)i).Value;
            }
        }

        return sum;
    }

    /// <summary>
    /// Each measured invocation runs once on fresh state (an iteration setup), too few calls for the JIT's tiering
    /// on its own: fault for a second first, so the measured path is the optimized one, as in a long run.
    /// </summary>
    [GlobalSetup(Target = nameof(ColdDemandFault))]
    public void WarmCold()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            SetupCold();
            ColdDemandFault();
            CleanupCold();
        }
    }

    [IterationSetup(Target = nameof(ColdDemandFault))]
    public void SetupCold()
    {
        Build(256L << 20, ColdPages);
        _vcpu.EnterGuest();
    }

    /// <summary>First write to never-touched guest pages: exit, get_user_pages (anonymous fault), install.</summary>
    [Benchmark(OperationsPerInvoke = ColdPages)]
    public void ColdDemandFault()
    {
        for (var g = 0UL; g < ColdPages; g++)
        {
            Touch(g, write: true);
        }
    }

    [IterationCleanup(Target = nameof(ColdDemandFault))]
    public void CleanupCold()
    {
        _vcpu.ExitGuest();
        if (_vm.CountPresentSptes() != ColdPages)
        {
            throw new InvalidOperationException($"{Mmu}: {_vm.CountPresentSptes()} SPTEs after {ColdPages} cold faults");
        }
    }

    [IterationSetup(Target = nameof(ZapOneGiB))]
    public void SetupZap()
    {
        Build(1200L << 20, (int)GiBPages);
        _vcpu.EnterGuest();
        for (var g = 0UL; g < GiBPages; g++)
        {
            Touch(g, write: true);
        }

        _vcpu.ExitGuest();
    }

    /// <summary>Zaps 262,144 present SPTEs (1 GiB) in one invalidate_range_start, plus its end.</summary>
    [Benchmark(OperationsPerInvoke = (int)GiBPages)]
    public void ZapOneGiB()
    {
        var range = new NotifierRange(_base, _base.AddPages(GiBPages), NotifierEvent.Clear, InvalidationCause.Other);
        _mm.Notifiers.InvalidateRangeStart(range);
        _mm.Notifiers.InvalidateRangeEnd(range);
    }

    private void Touch(ulong g, bool write)
    {
        if (Mmu == MmuMode.Tdp)
        {
            _vcpu.Access(new Gfn(g), write, g);
        }
        else
        {
            _vcpu.AccessVirtual(g, write, g);
        }
    }

    private void Build(long ram, int guestPages)
    {
        // Shadow mode: room above the data for the guest's tables (one leaf per 512 pages, plus the upper levels).
        var slotPages = (ulong)guestPages + (Mmu == MmuMode.Shadow ? (ulong)(guestPages / 512) + 8 : 0);
        _host = new HostSystem(new HostOptions { RamBytes = ram });
        _mm = _host.CreateAddressSpace("bench", NotifierProfile.Modern);
        _base = _mm.Mmap(slotPages * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        _vm = new VirtualMachine("bench", _mm, [new Memslot(0, 0, slotPages, _base)], new VmOptions { Vcpus = 1, Mmu = Mmu });
        _vcpu = _vm.Vcpus[0];
        if (Mmu == MmuMode.Shadow)
        {
            BuildGuestTables((ulong)guestPages);
        }
    }

    /// <summary>Guest page tables mapping guest virtual page g to gfn g for every data page, in frames from gfn <paramref name="pages"/> up.</summary>
    private void BuildGuestTables(ulong pages)
    {
        var next = pages;
        ulong NewTable()
        {
            _vcpu.ClearGuestTable(next);
            return next++;
        }

        var cr3 = NewTable();
        var tables = _vm.Shadow!.Tables;
        for (var g = 0UL; g < pages; g++)
        {
            var table = cr3;
            for (var level = Gpte.Levels; level > 1; level--)
            {
                var index = Gpte.IndexOf(g, level);
                var gpte = tables.Read(table, index);
                if (!Gpte.IsPresent(gpte))
                {
                    gpte = Gpte.Make(NewTable(), writable: true);
                    _vcpu.WriteGuestPte(table, index, gpte);
                }

                table = Gpte.GfnOf(gpte);
            }

            _vcpu.WriteGuestPte(table, Gpte.IndexOf(g, 1), Gpte.Make(g, writable: true));
        }

        _vcpu.LoadCr3(cr3, pcid: 1);
    }
}
