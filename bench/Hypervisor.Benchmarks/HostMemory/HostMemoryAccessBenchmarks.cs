using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>Accesses to a present page: the secondary MMU's <c>get_user_pages</c> + put, and the VMM's own write.</summary>
[MemoryDiagnoser]
public class HostMemoryAccessBenchmarks
{
    private HostSystem _host = null!;
    private AddressSpace _mm = null!;
    private Hva _page;

    [GlobalSetup]
    public void Setup()
    {
        _host = new HostSystem(new HostOptions { RamBytes = 64L << 20 });
        _mm = _host.CreateAddressSpace("vmm");
        _page = _mm.Mmap(16 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite).AddPages(3);
        _mm.HostWrite(_page, 1);
    }

    /// <summary><c>get_user_pages(FOLL_WRITE)</c> on a present writable page, then the put that drops its reference.</summary>
    [Benchmark]
    public int GetUserPagesPresentThenPut()
    {
        var gup = _mm.GetUserPages(_page, write: true);
        _host.Memory.Put(gup.Pfn);
        return gup.Pfn.Value;
    }

    /// <summary>A VMM store to a present writable page (mmap read lock, walk, PTL, frame write).</summary>
    [Benchmark]
    public HostStatus HostWritePresent() => _mm.HostWrite(_page, 42);
}
