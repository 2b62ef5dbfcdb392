using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// Memory semantics as a guest notices them, for one guest. Each page has an owner vCPU (page mod vCPUs), the only
/// vCPU that writes it. The owner must read back its last write unless a host event explains the difference
/// (a discard that may have overtaken the write reads back zero; a host write reads back the host's value).
/// Any vCPU reading any page must see a value written for that page by its owner, the host or nobody (zero),
/// and never an older value of a writer after a newer one. Fork children are checked by the fork activity.
/// </summary>
/// <remarks>
/// Expectations are plain arrays written only by the owning vCPU thread. The host-event list is copy-on-write and
/// consulted only when a read does not match, so a correct run costs one comparison per read.
/// </remarks>
public sealed partial class GuestOracle
{
    private const int SeqStride = 16; // one cache line per vCPU sequence counter
    private const int RecentSlots = 256;
    private const int MaxEvents = 2048;

    private readonly string _guest;
    private readonly int _vcpus;
    private readonly ulong[] _expected;
    private readonly int[] _expectedSince;
    private readonly long[] _seq;
    private readonly long[][] _recentPage;
    private readonly long[][] _recentSeq;
    private readonly ViolationLog _violations;

    // Guards writers of _events (copy-on-write); readers take the array reference.
    private readonly ProtocolLock _eventsLock = new("oracle events lock");
    private HostEvent[] _events = [];
    private long _hostSeq;

    /// <param name="guest">The guest's name, for reports.</param>
    /// <param name="pages">Guest memory in pages.</param>
    /// <param name="vcpus">The guest's vCPUs; page p is owned by vCPU p mod vcpus (of its canonical page).</param>
    /// <param name="violations">Where violations go.</param>
    /// <param name="aliases">The pages of aliasing memslots and the pages they map (none: every gfn its own page).</param>
    public GuestOracle(string guest, long pages, int vcpus, ViolationLog violations, IReadOnlyList<PageAlias>? aliases = null)
    {
        _aliases = [.. aliases ?? []];
        _guest = guest;
        _vcpus = vcpus;
        _expected = new ulong[pages];
        _expectedSince = new int[pages];
        _seq = new long[(vcpus + 1) * SeqStride];
        _recentPage = [.. Enumerable.Range(0, vcpus).Select(_ => new long[RecentSlots])];
        _recentSeq = [.. Enumerable.Range(0, vcpus).Select(_ => new long[RecentSlots])];
        _violations = violations;
    }

    public long Pages => _expected.Length;

    /// <summary>The value the next write of <paramref name="vcpu"/> to <paramref name="page"/> stores (bumps its sequence).</summary>
    public ulong NextWriteValue(int vcpu, long page)
    {
        ref var seq = ref _seq[(vcpu + 1) * SeqStride];
        Volatile.Write(ref seq, seq + 1);
        return ValueCodec.Encode(ValueCodec.TagVcpu, vcpu, Canonical(page), seq);
    }

    /// <summary>The owner's write completed: it is what the owner must read back.</summary>
    public void Wrote(int vcpu, long page, ulong value)
    {
        page = Canonical(page);
        _expected[page] = value;
        _expectedSince[page] = (int)CurrentSeq(vcpu);
    }

    /// <summary>The value a host write stores into <paramref name="page"/>.</summary>
    public ulong NextHostValue(long page) => ValueCodec.Encode(ValueCodec.TagHost, 0, Canonical(page), Interlocked.Increment(ref _hostSeq));

    public long CurrentSeq(int vcpu) => Volatile.Read(ref _seq[(vcpu + 1) * SeqStride]);

    public long CurrentHostSeq => Interlocked.Read(ref _hostSeq);

    /// <summary>Every vCPU's write sequence now (a fork takes this after it returns).</summary>
    public long[] SnapshotSeqs() => [.. Enumerable.Range(0, _vcpus).Select(CurrentSeq)];

    /// <summary>Announces a host activity over guest pages [firstPage, endPage), before it starts.</summary>
    /// <remarks>The range lies in one memslot (an aliasing one is announced as the pages it maps).</remarks>
    public HostEvent BeginEvent(HostEventKind kind, long firstPage, long endPage)
    {
        var canonical = Canonical(firstPage);
        var e = new HostEvent(kind, canonical, canonical + (endPage - firstPage));
        using (_eventsLock.EnterScope())
        {
            var old = _events;
            var keep = Math.Min(old.Length, MaxEvents - 1);
            var fresh = new HostEvent[keep + 1];
            Array.Copy(old, old.Length - keep, fresh, 0, keep);
            fresh[keep] = e;
            Volatile.Write(ref _events, fresh);
        }

        return e;
    }

    /// <summary>The activity finished: vCPU writes numbered after this point cannot have been overtaken by it.</summary>
    public void EndEvent(HostEvent e) => e.Complete(SnapshotSeqs());

    /// <summary>
    /// Checks a value <paramref name="vcpu"/> read from <paramref name="page"/>; <paramref name="hostWriteEpoch"/> is
    /// <see cref="HostWriteEpoch"/> taken before the read began (host writes completed by then must be visible).
    /// </summary>
    public void CheckRead(int vcpu, long page, ulong value, Pfn pfn, long hostWriteEpoch = 0)
    {
        page = Canonical(page);
        if (page % _vcpus == vcpu)
        {
            if (value != _expected[page])
            {
                CheckOwnMismatch(vcpu, page, value, pfn);
            }

            if (hostWriteEpoch != 0)
            {
                CheckHostWriteSeen(vcpu, page, value, pfn, hostWriteEpoch);
            }

            return;
        }

        var tag = ValueCodec.Tag(value);
        if (value == 0 || tag == ValueCodec.TagDuplicate || (tag == ValueCodec.TagHost && ValueCodec.IsForPage(value, page)))
        {
            return;
        }

        if (tag == ValueCodec.TagVcpu && ValueCodec.Writer(value) == page % _vcpus && ValueCodec.IsForPage(value, page))
        {
            CheckInOrder(vcpu, page, value, pfn);
            return;
        }

        Report(tag == ValueCodec.TagChild ? OracleViolations.CowIsolation : OracleViolations.ForeignData, vcpu, page, pfn,
            $"read {ValueCodec.Describe(value)} from a page owned by vcpu {page % _vcpus}");
    }

    private void CheckOwnMismatch(int vcpu, long page, ulong value, Pfn pfn)
    {
        var since = _expectedSince[page];
        var tag = ValueCodec.Tag(value);
        var kind = value == 0 ? HostEventKind.Discard : HostEventKind.HostWrite;
        if ((value == 0 || (tag == ValueCodec.TagHost && ValueCodec.IsForPage(value, page))) && Explained(kind, vcpu, page, since))
        {
            _expected[page] = value;
            _expectedSince[page] = (int)CurrentSeq(vcpu);
            return;
        }

        var violation = tag switch
        {
            ValueCodec.TagChild => OracleViolations.CowIsolation,
            ValueCodec.TagVcpu when ValueCodec.Writer(value) == vcpu && ValueCodec.IsForPage(value, page) => OracleViolations.StaleRead,
            _ when value == 0 => OracleViolations.LostWrite,
            _ => OracleViolations.ForeignData,
        };
        Report(violation, vcpu, page, pfn,
            $"vcpu {vcpu} read {ValueCodec.Describe(value)} but last wrote {ValueCodec.Describe(_expected[page])}");
        _expected[page] = value; // report a broken page once, not on every later read
        _expectedSince[page] = (int)CurrentSeq(vcpu);
    }

    private bool Explained(HostEventKind kind, int vcpu, long page, long since)
    {
        var events = Volatile.Read(ref _events);
        for (var i = events.Length - 1; i >= 0; i--)
        {
            var e = events[i];
            if (e.Kind == kind && e.Covers(page) && e.MayOvertake(vcpu, since))
            {
                return true;
            }
        }

        return false;
    }

    private void CheckInOrder(int vcpu, long page, ulong value, Pfn pfn)
    {
        var slot = (int)(page & (RecentSlots - 1));
        var seq = ValueCodec.Seq(value);
        if (_recentPage[vcpu][slot] == page + 1 && ValueCodec.SeqAfter(_recentSeq[vcpu][slot], seq))
        {
            Report(OracleViolations.StaleRead, vcpu, page, pfn,
                $"vcpu {vcpu} read {ValueCodec.Describe(value)} after already seeing write #{_recentSeq[vcpu][slot]}");
        }

        _recentPage[vcpu][slot] = page + 1;
        _recentSeq[vcpu][slot] = seq;
    }

    private void Report(ViolationKind kind, int vcpu, long page, Pfn pfn, string detail) =>
        _violations.Report(kind, new AccessSite(_guest, vcpu, (ulong)page), pfn.Value, detail);
}
