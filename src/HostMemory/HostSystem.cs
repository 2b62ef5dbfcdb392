using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory;

/// <summary>
/// One simulated host: its physical memory, swap device, counters and violation log, and the address spaces and
/// files created on it. Everything a running simulation needs from the primary MMU hangs off this object.
/// </summary>
public sealed class HostSystem
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<FileObject> _files = new();
    private readonly StripedCounters _counters = new(Enum.GetValues<HostCounter>().Length);

    // Guards _spaces: the address spaces that host-wide scanners (reclaim, aging, writeback, KSM, OOM) walk.
    private readonly ProtocolLock _spacesLock = new("mmlist_lock");
    private readonly List<AddressSpace> _spaces = [];

    public HostSystem(HostOptions options, TimeProvider? time = null)
    {
        Options = options;
        Time = time ?? TimeProvider.System;
        Violations = new ViolationLog(Time);
        Memory = new PhysicalMemory(options.RamBytes >> Hva.PageShift, Violations);
        Swap = new SwapDevice(options.SwapBytes >> Hva.PageShift);
        SwapCache = new SwapCache(Memory, Swap);
        Cpus = new Cpus.HostCpus(this, options.Cpus);
    }

    public HostOptions Options { get; }

    public HostMutations Mutations => Options.Mutations;

    public TimeProvider Time { get; }

    public ViolationLog Violations { get; }

    public PhysicalMemory Memory { get; }

    public SwapDevice Swap { get; }

    /// <summary>The model CPUs lockless page-table walkers run on (IRQ-off sections, IPIs, RCU-sched).</summary>
    public Cpus.HostCpus Cpus { get; }

    /// <summary>Anonymous pages with a swap slot that are still in memory (refaults of them are minor faults).</summary>
    public SwapCache SwapCache { get; }

    /// <summary><c>mm_all_locks_mutex</c>: serializes <c>mm_take_all_locks</c> across address spaces.</summary>
    internal ProtocolLock AllLocksMutex { get; } = new("mm_all_locks_mutex");

    /// <summary>The owners frames' reverse-map fields point at (anon_vmas and files).</summary>
    public Rmap.RmapRegistry Rmap { get; } = new();

    /// <summary>
    /// Called on the walking thread each time an rmap walker enters a page table (the address space and address it
    /// looks at), with the rmap lock held and before it takes the page-table lock: for tests and tracing (lockdep-style
    /// checks of what a walker holds, or parking a walker inside a table).
    /// </summary>
    public Action<AddressSpace, Hva>? RmapVisitObserver { get; set; }

    /// <summary>
    /// Called on the walking thread inside every lockless walk (<c>gup_fast</c>, <c>host_pfn_mapping_level</c>) right
    /// after it read the PMD level, with interrupts off on its model CPU: for tests that park a walker there. It must not
    /// wait for another CPU.
    /// </summary>
    public Action<AddressSpaces.AddressSpace, Hva>? LocklessWalkObserver { get; set; }

    /// <summary>Creates a process address space with one user (the VMM process itself).</summary>
    public AddressSpace CreateAddressSpace(string name, NotifierProfile profile = NotifierProfile.Modern)
    {
        var mm = new AddressSpace(this, name, profile);
        Track(mm);
        return mm;
    }

    /// <summary>
    /// The address spaces that have not exited, in creation order (a snapshot). Host-wide scanners walk these
    /// instead of keeping a reverse map per frame (the kernel's <c>mmlist</c>).
    /// </summary>
    public IReadOnlyList<AddressSpace> LiveAddressSpaces()
    {
        using (_spacesLock.EnterScope())
        {
            _spaces.RemoveAll(mm => mm.IsDead);
            return [.. _spaces];
        }
    }

    /// <summary>Makes a fully built address space visible to the host-wide scanners (create, and fork once done).</summary>
    internal void Track(AddressSpace mm)
    {
        using (_spacesLock.EnterScope())
        {
            _spaces.Add(mm);
        }
    }

    /// <summary>
    /// Creates a file of <paramref name="pages"/> zero pages, or an anonymous shared-memory object; an
    /// <paramref name="xip"/> file is executed in place (no page cache).
    /// </summary>
    public FileObject CreateFile(string name, long pages, bool shmem = false, bool writeNotify = true, bool xip = false)
    {
        var file = new FileObject(name, pages, shmem, writeNotify, xip);
        file.RegisterRmap(Rmap);
        _files.Enqueue(file);
        return file;
    }

    /// <summary>Every file and shared-memory object created on this host (writeback and reclaim walk them).</summary>
    public IEnumerable<FileObject> Files => _files;

    public void Count(HostCounter counter, long amount = 1) => _counters.Add((int)counter, amount);

    public long Read(HostCounter counter) => _counters.Read((int)counter);

    /// <summary>Every counter by name.</summary>
    public IReadOnlyDictionary<HostCounter, long> Counters() =>
        Enum.GetValues<HostCounter>().ToDictionary(c => c, Read);
}
