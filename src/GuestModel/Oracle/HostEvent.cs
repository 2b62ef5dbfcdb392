namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// A host activity that may legitimately change what a guest reads over [<see cref="FirstPage"/>,
/// <see cref="EndPage"/>): a discard (data may read back as zero) or a host write (data may be the host's).
/// Carries each vCPU's write sequence sampled after the activity finished: a vCPU write numbered at or below
/// that sample may have been overtaken by the activity; one numbered after it may not.
/// </summary>
public sealed class HostEvent(HostEventKind kind, long firstPage, long endPage)
{
    private long[]? _vcpuSeqAtEnd;

    public HostEventKind Kind { get; } = kind;

    public long FirstPage { get; } = firstPage;

    public long EndPage { get; } = endPage;

    public bool Covers(long page) => page >= FirstPage && page < EndPage;

    /// <summary>True if a vCPU write with sequence <paramref name="seq"/> may have been overtaken by this event.</summary>
    public bool MayOvertake(int vcpu, long seq)
    {
        var end = Volatile.Read(ref _vcpuSeqAtEnd);
        return end is null || !ValueCodec.SeqAfter(seq, end[vcpu]);
    }

    internal void Complete(long[] vcpuSeqAtEnd) => Volatile.Write(ref _vcpuSeqAtEnd, vcpuSeqAtEnd);
}
