using System.Collections.Concurrent;
using Hypervisor.HostMemory;

namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// Host writes the guest must see. A write of the file behind a shared mapping (<c>write(2)</c>, including
/// <c>xip_file_write</c>) lands in the very memory the guest maps, so once it has completed, the owner's next read
/// must return it, a newer host value, or a later write of the owner's own; reading the older value means a
/// secondary MMU still maps what the host replaced (a sparse page, an old frame). The ordinary rules only allow
/// host values; this makes a completed one required.
/// </summary>
/// <remarks>
/// Only a completed write counts: the host records it after it returned, and a read counts it only if the record
/// existed before the read began (<see cref="HostWriteEpoch"/>, read by the vCPU before its access). A write of the
/// owner's that was numbered before the host write began but not yet stored, or any later one, may land either side
/// of it, so it satisfies the rule too.
/// </remarks>
public sealed partial class GuestOracle
{
    private readonly ConcurrentDictionary<long, PendingHostWrite> _pendingHostWrites = new();
    private long _hostWriteEpoch;

    /// <summary>Bumped by every recorded host write; 0 while there has been none (the read path then skips the check).</summary>
    public long HostWriteEpoch => Volatile.Read(ref _hostWriteEpoch);

    /// <summary>The owner's write sequence of <paramref name="page"/>, taken by the host before it writes the page.</summary>
    public long OwnerSeqBefore(long page) => CurrentSeq((int)(Canonical(page) % _vcpus));

    /// <summary>
    /// The host's write of <paramref name="value"/> into <paramref name="page"/> has completed, and every mapping of
    /// the page sees it (a shared mapping of the written file).
    /// </summary>
    public void HostWroteVisible(long page, ulong value, long ownerSeqBefore)
    {
        var epoch = Interlocked.Increment(ref _hostWriteEpoch);
        _pendingHostWrites[Canonical(page)] = new PendingHostWrite(value, ownerSeqBefore, epoch);
    }

    private void CheckHostWriteSeen(int vcpu, long page, ulong value, Pfn pfn, long epochBefore)
    {
        if (!_pendingHostWrites.TryGetValue(page, out var pending) || pending.Epoch > epochBefore)
        {
            return; // nothing owed, or the host write completed after this read began
        }

        // The owner's write numbered OwnerSeqBefore may still have been in flight when the host began: either order.
        var seen = _expectedSince[page] >= pending.OwnerSeqBefore
            || value == pending.Value
            || (ValueCodec.Tag(value) == ValueCodec.TagHost && ValueCodec.IsForPage(value, page)
                && ValueCodec.SeqAfter(ValueCodec.Seq(value), ValueCodec.Seq(pending.Value)))
            || (value == 0 && Explained(HostEventKind.Discard, vcpu, page, _expectedSince[page]));
        if (!seen)
        {
            Report(OracleViolations.StaleRead, vcpu, page, pfn,
                $"vcpu {vcpu} read {ValueCodec.Describe(value)} after the host's write of {ValueCodec.Describe(pending.Value)} completed");
        }

        _pendingHostWrites.TryRemove(new KeyValuePair<long, PendingHostWrite>(page, pending));
    }

    private readonly record struct PendingHostWrite(ulong Value, long OwnerSeqBefore, long Epoch);
}
