using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>
/// <c>munmap</c> of 1 GiB whose every page is populated: one range start/end, 262,144 PTE clears, the frees and the
/// page-table frees. Each iteration maps and populates a fresh GiB first (not timed).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class HostMemoryMunmapBenchmarks
{
    private const ulong Length = 1UL << 30;
    private HostSystem _host = null!;
    private AddressSpace _mm = null!;
    private Hva _region;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _host = new HostSystem(new HostOptions { RamBytes = (long)(Length + (Length / 2)) });
        _mm = _host.CreateAddressSpace("vmm");
        _mm.RegisterNotifier(new NoOpNotifier());
    }

    [IterationSetup]
    public void PopulateOneGiB()
    {
        _region = _mm.Mmap(Length, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        for (ulong p = 0; p < Length >> Hva.PageShift; p++)
        {
            _mm.HostWrite(_region.AddPages(p), p);
        }
    }

    [Benchmark]
    public HostStatus MunmapOneGiBPopulated() => _mm.Munmap(_region, Length);
}
