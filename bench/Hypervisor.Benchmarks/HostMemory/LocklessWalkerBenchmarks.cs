using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>
/// Background <c>gup_fast</c> walkers (each a thread looping over a populated region of the same address space, with
/// interrupts off on a model CPU for each walk) beside the measured operation. Shared by the two benchmarks below.
/// </summary>
public abstract class WalkerLoad
{
    private readonly List<Thread> _threads = [];
    private volatile bool _stop;

    /// <summary>The host's table-free scheme.</summary>
    [Params(TableFreeScheme.Ipi, TableFreeScheme.Rcu, TableFreeScheme.WalkerCounter)]
    public TableFreeScheme Scheme { get; set; }

    /// <summary>Background walker threads (the machine has 2 cores: beyond one, walkers share them with the measured thread).</summary>
    [Params(0, 1, 3, 7)]
    public int Walkers { get; set; }

    protected HostSystem Host { get; private set; } = null!;

    protected AddressSpace Mm { get; private set; } = null!;

    protected Hva Walked { get; private set; }

    protected void StartWalkers(long ramBytes)
    {
        Host = new HostSystem(new HostOptions { RamBytes = ramBytes, TableFree = Scheme, Cpus = 16 });
        Mm = Host.CreateAddressSpace("vmm");
        Walked = Mm.Mmap(512 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        for (ulong p = 0; p < 512; p++)
        {
            Mm.HostWrite(Walked.AddPages(p), p);
        }

        _stop = false;
        for (var w = 0; w < Walkers; w++)
        {
            var seed = w;
            var thread = new Thread(() => Walk(seed)) { IsBackground = true, Name = $"gup_fast walker {w}" };
            _threads.Add(thread);
            thread.Start();
        }
    }

    protected void StopWalkers()
    {
        _stop = true;
        _threads.ForEach(t => t.Join());
        _threads.Clear();
    }

    private void Walk(int seed)
    {
        var page = (ulong)seed * 37;
        while (!_stop)
        {
            page = (page + 1) & 511;
            if (Mm.TryGetUserPageFast(Walked.AddPages(page), write: false, out var gup))
            {
                Host.Memory.Put(gup.Pfn);
            }
        }
    }
}

/// <summary>
/// <c>munmap</c> of 64 MiB with one page in each 2 MiB table (32 page-table frees in one mmu_gather) while walkers run:
/// the free's wait for them under each scheme. Each iteration maps and touches the region first (not timed).
/// </summary>
[InvocationCount(1)]
public class MunmapUnderWalkersBenchmarks : WalkerLoad
{
    private const ulong Length = 64UL << 20;
    private Hva _region;

    [GlobalSetup]
    public void Setup() => StartWalkers(256L << 20);

    [GlobalCleanup]
    public void Cleanup() => StopWalkers();

    [IterationSetup]
    public void MapAndTouch()
    {
        _region = Mm.Mmap(Length, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        for (ulong p = 0; p < Length >> Hva.PageShift; p += 512)
        {
            Mm.HostWrite(_region.AddPages(p), p);
        }
    }

    [Benchmark]
    public HostStatus Munmap64MiBOf32Tables() => Mm.Munmap(_region, Length);
}

/// <summary>
/// One <c>gup_fast</c> of a present page and its put, on the measuring thread, while other walkers run: the walker's own
/// cost, which under the walker-counter scheme includes a shared atomic every walker writes twice per walk.
/// </summary>
public class GupFastUnderWalkersBenchmarks : WalkerLoad
{
    private Hva _page;

    [GlobalSetup]
    public void Setup()
    {
        StartWalkers(64L << 20);
        _page = Walked.AddPages(7);
    }

    [GlobalCleanup]
    public void Cleanup() => StopWalkers();

    [Benchmark]
    public int GupFastThenPut()
    {
        if (!Mm.TryGetUserPageFast(_page, write: false, out var gup))
        {
            throw new InvalidOperationException("the page is present: gup_fast must take it");
        }

        Host.Memory.Put(gup.Pfn);
        return gup.Pfn.Value;
    }

    [Benchmark(Baseline = true)]
    public int LockedGupThenPut()
    {
        var gup = Mm.GetUserPages(_page, write: false);
        Host.Memory.Put(gup.Pfn);
        return gup.Pfn.Value;
    }
}
