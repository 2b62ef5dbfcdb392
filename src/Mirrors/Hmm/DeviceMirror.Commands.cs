using Hypervisor.HostMemory;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Hmm;

/// <summary>The device commands (<c>HMM_DMIRROR_READ</c> / <c>WRITE</c>) and the fault path behind them.</summary>
public sealed partial class DeviceMirror
{
    /// <summary>How many pages one <c>hmm_range_fault</c> call covers (test_hmm's 64-entry pfn array).</summary>
    private const ulong FaultChunk = 64;

    private long _faultWindows;

    /// <summary>
    /// <c>dmirror_read</c>: the device copies <paramref name="pages"/> pages starting at <paramref name="address"/>
    /// into <paramref name="into"/> (one word per page). Where the device has no entry, it faults the rest of the
    /// range and starts again from there; each such round counts one fault.
    /// </summary>
    public MirrorCommandResult Read(Hva address, ulong pages, ulong[] into) => Run(address, pages, into, write: false);

    /// <summary><c>dmirror_write</c>: the device writes <paramref name="from"/>[i] to page i, faulting for write.</summary>
    public MirrorCommandResult Write(Hva address, ulong pages, ulong[] from) => Run(address, pages, from, write: true);

    private MirrorCommandResult Run(Hva address, ulong pages, ulong[] buffer, bool write)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ulong done = 0;
        var faults = 0;
        while (true)
        {
            SchedulingPoint.Wait(_mutex, "hmm device mutex");
            try
            {
                var from = done;
                done = Copy(address, pages, done, buffer, write);
                if (CommandTime > TimeSpan.Zero && done > from)
                {
                    SchedulingPoint.Sleep(CommandTime, "hmm command transfer"); // the transfer of what was copied, still under the mutex
                }
            }
            finally
            {
                _mutex.Release();
            }

            if (done == pages)
            {
                return new MirrorCommandResult(HostStatus.Ok, done, faults);
            }

            var status = Fault(address.AddPages(done), address.AddPages(pages), write);
            if (status != HostStatus.Ok)
            {
                return new MirrorCommandResult(status, done, faults);
            }

            faults++;
        }
    }

    /// <summary>
    /// <c>dmirror_do_read</c> / <c>dmirror_do_write</c>: copy until the first page without a (writable) entry.
    /// Caller holds the mutex, so no invalidation can pass the entries being used.
    /// </summary>
    private ulong Copy(Hva address, ulong pages, ulong from, ulong[] buffer, bool write)
    {
        for (var i = from; i < pages; i++)
        {
            var vpn = address.PageNumber + i;
            if (!_pageTable.TryGetValue(vpn, out var entry) || (write && (entry & WriteBit) == 0))
            {
                return i; // -ENOENT
            }

            var pfn = new Pfn((int)(entry >> 1));
            if (write)
            {
                _memory.Write(pfn, vpn, buffer[i]);
            }
            else
            {
                buffer[i] = _memory.Read(pfn, vpn);
            }
        }

        return pages;
    }

    /// <summary>
    /// <c>dmirror_fault</c>: fault [start, end) into the device in chunks, each through <see cref="RangeFault"/>.
    /// </summary>
    public HostStatus Fault(Hva start, Hva end, bool write)
    {
        for (var at = start; at < end; at = at.AddPages(FaultChunk))
        {
            var chunkEnd = at.AddPages(FaultChunk) < end ? at.AddPages(FaultChunk) : end;
            var status = RangeFault(at, chunkEnd, write);
            if (status != HostStatus.Ok)
            {
                return status;
            }
        }

        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>dmirror_range_fault</c>: read_begin; snapshot the primary's PTEs, faulting pages in (<c>hmm_range_fault</c>,
    /// which keeps no page reference); take the mutex; if read_retry says an invalidation hit the interval since
    /// read_begin, drop the snapshot and start over; else install the snapshot under the mutex.
    /// </summary>
    private HostStatus RangeFault(Hva start, Hva end, bool write)
    {
        var pages = (int)((end.Value - start.Value) >> Hva.PageShift);
        var snapshot = new ulong[pages];
        while (true)
        {
            var seq = _interval.ReadBegin();
            for (var i = 0; i < pages; i++)
            {
                var gup = Mm.GetUserPages(start.AddPages((ulong)i), write);
                if (gup.Status != HostStatus.Ok)
                {
                    return gup.Status; // -EFAULT / -EPERM
                }

                // hmm_range_fault takes no reference: the pfn is good only until read_retry says otherwise.
                Mm.Host.Memory.Put(gup.Pfn);
                snapshot[i] = ((ulong)gup.Pfn.Value << 1) | (gup.Writable ? WriteBit : 0);
            }

            AfterSnapshot?.Invoke(start);
            SchedulingPoint.Window("hmm_range_fault→mmu_interval_read_retry");
            if (PreemptInFaultWindowEvery > 0 && Interlocked.Increment(ref _faultWindows) % PreemptInFaultWindowEvery == 0)
            {
                SchedulingPoint.Sleep(TimeSpan.FromMilliseconds(1), "hmm fault window");
            }

            SchedulingPoint.Wait(_mutex, "hmm device mutex");
            try
            {
                if (_interval.ReadRetry(seq))
                {
                    Statistics.Retried();
                    continue;
                }

                // dmirror_do_fault
                for (var i = 0; i < pages; i++)
                {
                    _pageTable[start.PageNumber + (ulong)i] = snapshot[i];
                }
            }
            finally
            {
                _mutex.Release();
            }

            Statistics.Faulted();
            return HostStatus.Ok;
        }
    }
}
