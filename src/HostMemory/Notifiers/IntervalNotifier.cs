using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// One interval subscription (<c>struct mmu_interval_notifier</c>): the closed interval [<see cref="Start"/>,
/// <see cref="Last"/>] of an address space watched by <see cref="Ops"/>, and its own invalidation sequence, which
/// together with the address space's sequence forms the collision-retry "lock" of <c>mmu_interval_read_begin</c> /
/// <c>mmu_interval_read_retry</c>. Created by <see cref="NotifierChain.InsertInterval"/>.
/// </summary>
/// <remarks>
/// Fault side, as <c>hmm_range_fault</c> users write it:
/// <code>
/// again: seq = sub.ReadBegin();
///        read the primary page tables (may fault pages in, may sleep)
///        take the user lock; if (sub.ReadRetry(seq)) { unlock; goto again; }
///        install device entries; unlock
/// </code>
/// </remarks>
public sealed class IntervalNotifier
{
    private readonly NotifierChain _chain;

    // Last cur_seq this subscription was told about by Invalidate (always odd). Written by SetSeq under the user's
    // lock, and by insert under the chain's interval lock; read by ReadRetry under the user's lock.
    private ulong _invalidateSeq;
    private bool _removed;

    internal IntervalNotifier(NotifierChain chain, Hva start, ulong last, IIntervalNotifierOps ops)
    {
        _chain = chain;
        Start = start;
        Last = last;
        Ops = ops;
    }

    /// <summary>First byte watched.</summary>
    public Hva Start { get; }

    /// <summary>Last byte watched (inclusive, as the kernel's interval tree stores it).</summary>
    public ulong Last { get; }

    public IIntervalNotifierOps Ops { get; }

    public AddressSpace Mm => _chain.Mm;

    /// <summary>The sequence as last set (diagnostics and tests).</summary>
    public ulong InvalidateSeq => Volatile.Read(ref _invalidateSeq);

    /// <summary>In the interval tree now (false while an insert or after a remove is deferred).</summary>
    internal bool InTree { get; set; }

    /// <summary>Set when <see cref="Remove"/> returns: a callback after that is a violation. Read without the lock.</summary>
    internal bool Removed
    {
        get => Volatile.Read(ref _removed);
        set => Volatile.Write(ref _removed, value);
    }

    /// <summary>
    /// <c>mmu_interval_read_begin</c>: samples this subscription's sequence; if an invalidation that hit this
    /// interval (or was in flight when it was inserted) has not ended yet, waits for that end. The returned value
    /// may already be stale: only <see cref="ReadRetry"/> under the user lock decides.
    /// </summary>
    public ulong ReadBegin() => _chain.ReadBegin(this);

    /// <summary>
    /// <c>mmu_interval_read_retry</c>: true if an invalidation touched the interval since <see cref="ReadBegin"/>
    /// returned <paramref name="seq"/>. Caller holds the user lock that <see cref="IIntervalNotifierOps.Invalidate"/>
    /// takes around <see cref="SetSeq"/>; only then is false reliable.
    /// </summary>
    public bool ReadRetry(ulong seq) => Volatile.Read(ref _invalidateSeq) != seq;

    /// <summary><c>mmu_interval_check_retry</c>: the same test without the lock; an early hint, false is not reliable.</summary>
    public bool CheckRetry(ulong seq) => Volatile.Read(ref _invalidateSeq) != seq;

    /// <summary>
    /// <c>mmu_interval_set_seq</c>: called by <see cref="IIntervalNotifierOps.Invalidate"/> with its
    /// <c>currentSeq</c>, under the user lock, before dropping mappings.
    /// </summary>
    public void SetSeq(ulong currentSeq) => Volatile.Write(ref _invalidateSeq, currentSeq);

    /// <summary>
    /// <c>mmu_interval_notifier_remove</c>: once it returns no callback of this subscription runs or will run. May
    /// wait for invalidations in flight; must not be called from inside a callback.
    /// </summary>
    public void Remove() => _chain.RemoveInterval(this);

    internal void InitSeq(ulong seq) => Volatile.Write(ref _invalidateSeq, seq);

    public override string ToString() => $"interval [{Start}, 0x{Last:x}] of {Mm.Name}";
}
