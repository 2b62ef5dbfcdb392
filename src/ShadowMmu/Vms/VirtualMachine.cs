using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.ShadowMmu.Invalidation;
using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// A virtual machine (<c>struct kvm</c>): memslots onto a host address space, a shadow page table, vCPUs, the MMU
/// lock and the invalidation counters, and an MMU notifier registered on creation and unregistered on
/// <see cref="Dispose"/>. The fault path and the notifier callbacks live in partial files by concern.
/// </summary>
public sealed partial class VirtualMachine : IDisposable
{
    /// <summary>
    /// <c>kvm-&gt;mmu_lock</c> (x86's rwlock): faults take it for read and install with compare-exchange (the TDP
    /// MMU's scheme); invalidation, release and the counters take it for write. A zapper flushes remote TLBs
    /// before releasing it.
    /// </summary>
    private readonly MmuLock _mmuLock = new();

    // Serializes notifier detach and re-attach.
    private readonly ProtocolLock _attachLock = new("kvm notifier attach lock");
    private readonly Memslot[] _memslots;
    private readonly Vcpu[] _vcpus;
    private readonly ProtocolMonitor _monitor;

    // kvm->mmu_invalidate_*: guarded by _mmuLock.
    private readonly MmuInvalidation _invalidation;

    // Guarded by _mmuLock (written under the write lock; read under either).
    private bool _released;
    private bool _attached;

    private VmMmuNotifier _notifier;

    public VirtualMachine(string name, AddressSpace addressSpace, IEnumerable<Memslot> memslots, VmOptions? options = null)
    {
        Name = name;
        AddressSpace = addressSpace;
        Options = options ?? new VmOptions();
        _memslots = [.. memslots.OrderBy(s => s.BaseGfn)];
        for (var i = 1; i < _memslots.Length; i++)
        {
            if (_memslots[i].BaseGfn < _memslots[i - 1].EndGfn)
            {
                throw new ArgumentException($"memslots {_memslots[i - 1].Id} and {_memslots[i].Id} overlap", nameof(memslots));
            }
        }

        _invalidation = new MmuInvalidation(_mmuLock, Options.Mutations, Options.SeqCounter, Options.PreemptInSeqUpdateEvery,
            Options.BetweenSeqLoadAndStore);
        _monitor = new ProtocolMonitor(name, addressSpace, Violations, _mmuLock);
        if (Options.Mmu == MmuMode.Shadow)
        {
            Shadow = new ShadowPaging(this, _memslots.Length == 0 ? 0 : _memslots.Max(s => s.EndGfn));
        }

        _vcpus = [.. Enumerable.Range(0, Options.Vcpus).Select(i => new Vcpu(this, i, Options.TlbEntries))];
        _notifier = new VmMmuNotifier(this);
        // kvm_init_mmu_notifier: subscribe before any SPTE can exist.
        addressSpace.RegisterNotifier(_notifier);
        _attached = true;
    }

    public string Name { get; }

    public AddressSpace AddressSpace { get; }

    public VmOptions Options { get; }

    /// <summary>The TDP table (gfn to SPTE); empty in shadow mode.</summary>
    public ShadowPageTable Table { get; } = new();

    /// <summary>The shadow MMU's state in shadow mode (<see cref="MmuMode.Shadow"/>), else null.</summary>
    public ShadowPaging? Shadow { get; }

    /// <summary>The MMU lock, for the shadow MMU's partial state and its assertions.</summary>
    internal MmuLock MmuLock => _mmuLock;

    public IReadOnlyList<Memslot> Memslots => _memslots;

    public IReadOnlyList<Vcpu> Vcpus => _vcpus;

    public VmStats Stats { get; } = new();

    public ViolationLog Violations => AddressSpace.Host.Violations;

    /// <summary>Receives every invalidation after it was handled, outside the MMU lock. May block (back-pressure).</summary>
    public Action<InvalidationRecord>? InvalidationObserver { get; set; }

    /// <summary><c>mmu_invalidate_seq</c>: bumped at the end of every invalidation that hit a memslot.</summary>
    public long InvalidateSeq => _invalidation.Seq;

    /// <summary>
    /// Time during which a fault on an invalidated gfn had to retry: from the first <c>kvm_mmu_invalidate_begin</c>
    /// to the last end of overlapping sections, plus each legacy <c>invalidate_page</c>'s hold of the MMU lock.
    /// </summary>
    public TimeSpan MaskedTime => Stopwatch.GetElapsedTime(0, _invalidation.MaskedTicks);

    /// <summary>The number of masked windows counted in <see cref="MaskedTime"/>.</summary>
    public long MaskedWindows => _invalidation.MaskedWindows;

    /// <summary><c>mmu_invalidate_in_progress</c>: open start/end sections that hit a memslot.</summary>
    public long InvalidateInProgress => _invalidation.InProgress;

    /// <summary>
    /// True once <c>Release</c> froze the VM (the address space exited or the notifier was unregistered) and
    /// until a fresh notifier is attached. A start that raced with the release may never get its end (the
    /// kernel unhashes released subscriptions), so <see cref="InvalidateInProgress"/> means nothing here.
    /// </summary>
    public bool Released => Volatile.Read(ref _released);

    /// <summary>The union of the gfn ranges of the open sections, or null when none is open.</summary>
    public (Gfn Start, Gfn End)? InvalidateRange
    {
        get
        {
            _mmuLock.EnterRead();
            try
            {
                return _invalidation.Range is { } range ? (new Gfn(range.Start), new Gfn(range.End)) : null;
            }
            finally
            {
                _mmuLock.ExitRead();
            }
        }
    }

    /// <summary>True while the notifier is registered.</summary>
    public bool NotifierAttached => Volatile.Read(ref _attached);

    /// <summary>Counters of every vCPU summed.</summary>
    public VcpuCounters VcpuTotals() => _vcpus.Select(v => v.Stats.Snapshot()).Aggregate(new VcpuCounters(), VcpuCounters.Add);

    /// <summary>The memslot containing <paramref name="gfn"/>, or null (<c>gfn_to_memslot</c>).</summary>
    public Memslot? FindMemslot(ulong gfn)
    {
        foreach (var slot in _memslots)
        {
            if (slot.Contains(gfn))
            {
                return slot;
            }
        }

        return null;
    }

    /// <summary>Number of present SPTEs, a 2 MiB one counting once (walks the table; for tests and statistics).</summary>
    public long CountPresentSptes()
    {
        if (Shadow is { } shadow)
        {
            return shadow.CountPresentLeafSptes();
        }

        long count = 0;
        foreach (var slot in _memslots)
        {
            Table.ForEachLeaf(slot.BaseGfn, slot.EndGfn, ref count, static (ulong _, ShadowPageTable.Leaf leaf, int from, int to, ref long n) =>
            {
                n += Spte.IsPresent(Volatile.Read(ref leaf.Huge)) ? 1 : 0;
                for (var i = from; i < to; i++)
                {
                    if (Spte.IsPresent(Volatile.Read(ref leaf.Entries[i])))
                    {
                        n++;
                    }
                }
            });
        }

        return count;
    }

    /// <summary>
    /// Unregisters the notifier (<c>mmu_notifier_unregister</c>, which runs <c>Release</c> if it had not run, so
    /// every SPTE is gone), then resets the invalidation state: a start whose end will never come must not keep
    /// faults retrying forever. Faults retry until <see cref="ReattachNotifier"/>.
    /// </summary>
    public void DetachNotifier()
    {
        using (_attachLock.EnterScope())
        {
            if (!_attached)
            {
                return;
            }

            WithWriteLock(() => _attached = false);
            AddressSpace.UnregisterNotifier(_notifier);
            _notifier.MarkUnregistered();
            WithWriteLock(() =>
            {
                // kvm_destroy_vm resets an unbalanced count the same way; seq++ makes in-flight faults retry.
                _invalidation.Reset();
                Interlocked.Exchange(ref _mnActiveInvalidateCount, 0);
                _monitor.Reset();
            });
        }
    }

    /// <summary>
    /// Registers a fresh notifier again; false if the address space has exited, including when its exit released
    /// the fresh notifier during the registration (the registration's <c>mmput</c> can run the exit itself): the VM
    /// then stays released, since nothing would tell it about the frames the exit frees.
    /// </summary>
    public bool ReattachNotifier()
    {
        using (_attachLock.EnterScope())
        {
            if (_attached)
            {
                return true;
            }

            var fresh = new VmMmuNotifier(this);
            try
            {
                AddressSpace.RegisterNotifier(fresh);
            }
            catch (InvalidOperationException)
            {
                return false;
            }

            _notifier = fresh;
            var enabled = false;
            WithWriteLock(() =>
            {
                // OnRelease sets _released under this lock, so either it ran already and ReleaseRan is seen here,
                // or it runs after this and freezes the VM again.
                enabled = !fresh.ReleaseRan;
                _released = !enabled;
                _attached = true;
                _invalidation.BumpSeq();
            });
            if (enabled)
            {
                RequestPfnCacheRefreshes();
            }

            return enabled;
        }
    }

    /// <summary>Destroys the VM: stops its vCPUs' retries and unregisters the notifier.</summary>
    public void Dispose()
    {
        foreach (var vcpu in _vcpus)
        {
            vcpu.RequestStop();
        }

        DetachNotifier();
    }

    /// <summary>The protocol monitor's install check (invariants I2 and I4), for a mode's install step.</summary>
    internal void CheckInstall(ulong gfn, Hva hva, Pfn pfn, int vcpu) => _monitor.CheckInstall(gfn, hva, pfn, vcpu);

    internal void ReportCallbackAfterUnregister(string detail) =>
        Violations.Report(ShadowViolations.CallbackAfterUnregister, new AccessSite(Name, -1, 0), -1, detail);

    private void WithWriteLock(Action action)
    {
        _mmuLock.EnterWrite();
        try
        {
            action();
        }
        finally
        {
            _mmuLock.ExitWrite();
        }
    }

    public override string ToString() => $"vm '{Name}'";
}
