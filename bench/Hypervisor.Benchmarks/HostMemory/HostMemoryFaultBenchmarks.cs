using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>
/// Host page faults per page: the anonymous demand fault (<c>do_anonymous_page</c>, a fresh zeroed frame) and the
/// copy-on-write fault after fork (<c>wp_page_copy</c>). Each iteration faults a fresh batch once, so the
/// invocation count is fixed at one and the time is divided by the batch size.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class HostMemoryFaultBenchmarks
{
    private const int Batch = 1 << 18; // 1 GiB of pages per iteration (iterations of about 100 ms)
    private HostSystem _host = null!;
    private AddressSpace _mm = null!;
    private AddressSpace? _child;
    private Hva _region;

    /// <summary>No-op notifiers registered on the faulting address space (a VMM with one VM has one).</summary>
    [Params(0, 1)]
    public int Notifiers { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = new HostSystem(new HostOptions { RamBytes = 3L * Batch * (long)Hva.PageSize });
        _mm = _host.CreateAddressSpace("vmm");
        for (var i = 0; i < Notifiers; i++)
        {
            _mm.RegisterNotifier(new NoOpNotifier());
        }
    }

    [IterationSetup(Target = nameof(AnonymousDemandFault))]
    public void FreshRegion() => _region = _mm.Mmap(Batch * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);

    [IterationSetup(Target = nameof(CowFaultAfterFork))]
    public void PopulatedAndForked()
    {
        FreshRegion();
        for (ulong p = 0; p < Batch; p++)
        {
            _mm.HostWrite(_region.AddPages(p), p);
        }

        _child = _mm.Fork("child");
    }

    [IterationCleanup]
    public void DropRegion()
    {
        _child?.Exit();
        _child = null;
        _mm.Munmap(_region, Batch * Hva.PageSize);
    }

    /// <summary>First write to a never-touched private anonymous page.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int AnonymousDemandFault()
    {
        var failures = 0;
        for (ulong p = 0; p < Batch; p++)
        {
            failures += _mm.HostWrite(_region.AddPages(p), p) == HostStatus.Ok ? 0 : 1;
        }

        return failures;
    }

    /// <summary>The parent's first write to a page it shares with its fork child: copy, remap, put.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int CowFaultAfterFork()
    {
        var failures = 0;
        for (ulong p = 0; p < Batch; p++)
        {
            failures += _mm.HostWrite(_region.AddPages(p), ~p) == HostStatus.Ok ? 0 : 1;
        }

        return failures;
    }
}
