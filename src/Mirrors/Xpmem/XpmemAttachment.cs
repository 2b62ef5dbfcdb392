using Hypervisor.HostMemory;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Xpmem;

/// <summary>
/// One importer's attachment to a segment (<c>struct xpmem_attachment</c>): its page table over the segment (page
/// index to pfn), a mutex, and an invalidation sequence plus open-range count that faults check before installing.
/// A local importer keeps the <c>get_user_pages</c> reference of each mapped page (a pin); a remote one keeps none.
/// </summary>
public sealed class XpmemAttachment
{
    private const long None = -1;

    private readonly XpmemSegment _segment;
    private readonly RemotePartition? _remote;
    private readonly PhysicalMemoryView _memory;

    // att->mutex: guards _pfns, _seq, _open, _released; Monitor.Wait on it waits for open ranges to end.
    private readonly ProtocolLock _lock = new("att->mutex");
    private readonly long[] _pfns;
    private long _seq;
    private int _open;
    private bool _released;
    private long _faultWindows;

    internal XpmemAttachment(XpmemSegment segment, string importer, RemotePartition? remote)
    {
        _segment = segment;
        _remote = remote;
        Importer = importer;
        _pfns = new long[segment.Pages];
        Array.Fill(_pfns, None);
        _memory = new PhysicalMemoryView(segment.Exporter.Host.Memory, $"xpmem:{importer}");
    }

    public string Importer { get; }

    public bool IsRemote => _remote is not null;

    /// <summary>Test hook: runs after a fault pinned (or looked up) the page and before it installs it.</summary>
    public Action<ulong>? AfterPin { get; set; }

    /// <summary>One fault in this many sleeps a millisecond between its pin and its install; 0 never.</summary>
    public int PreemptInFaultWindowEvery { get; set; }

    public int MappedPages
    {
        get
        {
            using (_lock.EnterScope())
            {
                return _pfns.Count(p => p != None);
            }
        }
    }

    /// <summary>The importer reads word <paramref name="page"/> of the segment, faulting it in if needed.</summary>
    public HostStatus Read(ulong page, out ulong value) => Access(page, write: false, 0, out value);

    /// <summary>The importer writes word <paramref name="page"/> of the segment.</summary>
    public HostStatus Write(ulong page, ulong value) => Access(page, write: true, value, out _);

    private HostStatus Access(ulong page, bool write, ulong value, out ulong read)
    {
        read = 0;
        var vpn = _segment.Start.PageNumber + page;
        while (true)
        {
            using (_lock.EnterScope())
            {
                if (_released)
                {
                    return HostStatus.Dead;
                }

                if (_pfns[page] != None)
                {
                    var pfn = new Pfn((int)_pfns[page]);
                    if (write)
                    {
                        _memory.Write(pfn, vpn, value);
                    }
                    else
                    {
                        read = _memory.Read(pfn, vpn);
                    }

                    return HostStatus.Ok;
                }
            }

            var status = Fault(page);
            if (status != HostStatus.Ok)
            {
                return status;
            }
        }
    }

    /// <summary>
    /// <c>xpmem_fault_handler</c>: pin the exporter's page (<c>get_user_pages_remote</c>, for write), then under the
    /// mutex install it unless an invalidation of this attachment ran since the sequence was sampled or is still
    /// open (the check the driver lacks; <see cref="MirrorMutations.XpmemNoSeqCheck"/> removes it). A remote importer
    /// drops the pin once the page is installed.
    /// </summary>
    private HostStatus Fault(ulong page)
    {
        var hva = _segment.Start.AddPages(page);
        var memory = _segment.Exporter.Host.Memory;
        while (true)
        {
            long seq;
            using (_lock.EnterScope())
            {
                // Named wait: an invalidation of this attachment is open; installing now could only collide.
                while (_open != 0 && !_released && (_segment.Mutations & MirrorMutations.XpmemNoSeqCheck) == 0)
                {
                    _lock.Wait();
                }

                seq = _seq;
            }

            var gup = _segment.Exporter.GetUserPages(hva, write: true);
            if (gup.Status != HostStatus.Ok)
            {
                return gup.Status;
            }

            AfterPin?.Invoke(page);
            SchedulingPoint.Window("xpmem fault pin→install");
            if (PreemptInFaultWindowEvery > 0 && Interlocked.Increment(ref _faultWindows) % PreemptInFaultWindowEvery == 0)
            {
                SchedulingPoint.Sleep(TimeSpan.FromMilliseconds(1), "xpmem fault window");
            }

            var keepPin = false;
            using (_lock.EnterScope())
            {
                var collided = (_segment.Mutations & MirrorMutations.XpmemNoSeqCheck) == 0 && (_seq != seq || _open != 0);
                if (!collided && !_released && _pfns[page] == None)
                {
                    _pfns[page] = gup.Pfn.Value;
                    keepPin = _remote is null;
                }
                else if (collided)
                {
                    _segment.Statistics.Retried();
                }
            }

            if (!keepPin)
            {
                memory.Put(gup.Pfn); // already mapped, collided, or a remote importer (which holds no pin)
            }

            using (_lock.EnterScope())
            {
                if (_pfns[page] != None || _released)
                {
                    _segment.Statistics.Faulted();
                    return _released ? HostStatus.Dead : HostStatus.Ok;
                }
            }
        }
    }

    /// <summary>
    /// Start of an invalidation of [start, end): bump the sequence, open a range, and purge the importer's entries
    /// (a remote importer does it on its own thread; the exporter waits for the acknowledgement). Returns how many
    /// entries were dropped (for a remote importer not waited for, the count known at send time).
    /// </summary>
    internal int BeginInvalidate(Hva start, Hva end)
    {
        using (_lock.EnterScope())
        {
            _seq++;
            _open++;
        }

        return Purge(start, end, release: false);
    }

    internal void EndInvalidate(Hva start, Hva end)
    {
        using (_lock.EnterScope())
        {
            if (_open > 0 && --_open == 0)
            {
                _lock.PulseAll();
            }
        }
    }

    /// <summary>
    /// <c>xpmem_clear_PTEs_of_att</c>: zap the importer's entries of the range, then unpin (zap before unpin: a pinned
    /// page must not be freed while mapped). Remote: sent as a message; waits for the acknowledgement unless
    /// <see cref="MirrorMutations.XpmemNoAckWait"/>.
    /// </summary>
    internal int Purge(Hva start, Hva end, bool release)
    {
        if (_remote is null)
        {
            return Zap(start, end, release);
        }

        var dropped = 0;
        var ack = _remote.Send(() => dropped = Zap(start, end, release));
        if ((_segment.Mutations & MirrorMutations.XpmemNoAckWait) == 0)
        {
            SchedulingPoint.Wait(ack, Timeout.InfiniteTimeSpan, "xpmem purge ack"); // Named wait: the remote partition's acknowledgement of the purge (sleeps).
            ack.Dispose();
        }

        return dropped;
    }

    private int Zap(Hva start, Hva end, bool release)
    {
        var memory = _segment.Exporter.Host.Memory;
        var first = Math.Max(start.Value, _segment.Start.Value);
        var last = Math.Min(end.Value, _segment.Start.AddPages(_segment.Pages).Value);
        var unpin = new List<Pfn>();
        using (_lock.EnterScope())
        {
            _released |= release;
            for (var a = first; a < last; a += Hva.PageSize)
            {
                var i = (a - _segment.Start.Value) >> Hva.PageShift;
                if (_pfns[i] != None)
                {
                    unpin.Add(new Pfn((int)_pfns[i]));
                    _pfns[i] = None;
                }
            }
        }

        if (_remote is null)
        {
            foreach (var pfn in unpin)
            {
                memory.Put(pfn);
            }
        }

        return unpin.Count;
    }

    /// <summary>
    /// The checker's rule for this kind: with no invalidation open, every importer entry maps the frame the exporter
    /// maps at that address (so the importer sees the exporter's writes). Reports and counts mismatches.
    /// </summary>
    public int CheckCoherence() => CoherenceCheck.Run(_segment.Exporter, $"xpmem:{Importer}", () =>
    {
        var found = new List<Mismatch>();
        using (_lock.EnterScope())
        {
            if (_open != 0)
            {
                return found;
            }

            for (ulong i = 0; i < (ulong)_pfns.Length; i++)
            {
                if (_pfns[i] == None)
                {
                    continue;
                }

                var hva = _segment.Start.AddPages(i);
                var pte = _segment.Exporter.PteOf(hva);
                if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).Value != _pfns[i])
                {
                    found.Add(new Mismatch(hva.PageNumber, (ulong)_pfns[i], (int)_pfns[i], MirrorViolations.StaleMapping,
                        $"importer maps pfn {_pfns[i]}, the exporter maps 0x{pte:x}"));
                }
            }
        }

        return found;
    });
}
