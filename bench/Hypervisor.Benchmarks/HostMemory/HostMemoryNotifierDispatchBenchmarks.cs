using BenchmarkDotNet.Attributes;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>
/// The notifier chain's own cost for one start/end pair: with nothing registered (the <c>mm_has_notifiers</c> null
/// check) and with one no-op notifier (SRCU read sections, the open-section counter, two interface calls).
/// </summary>
[MemoryDiagnoser]
public class HostMemoryNotifierDispatchBenchmarks
{
    private AddressSpace _mm = null!;
    private NotifierRange _range;

    [Params(0, 1)]
    public int Notifiers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var host = new HostSystem(new HostOptions { RamBytes = 16L << 20 });
        _mm = host.CreateAddressSpace("vmm");
        var at = _mm.Mmap(16 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        _range = new NotifierRange(at, at.AddPages(16), NotifierEvent.Clear, InvalidationCause.Other);
        for (var i = 0; i < Notifiers; i++)
        {
            _mm.RegisterNotifier(new NoOpNotifier());
        }
    }

    [Benchmark]
    public bool InvalidateRangeStartThenEnd()
    {
        var started = _mm.Notifiers.InvalidateRangeStart(_range);
        _mm.Notifiers.InvalidateRangeEnd(_range);
        return started;
    }
}
