using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Scheduling;
using Hypervisor.Mirrors.Common;
using Hypervisor.Mirrors.Gru;
using Hypervisor.Mirrors.Hmm;
using Hypervisor.Mirrors.Xpmem;

namespace Hypervisor.GuestModel.Clients;

/// <summary>
/// A running client: the mirror built over the guest's first slot, a thread that issues device accesses at random
/// pages of it, and the kind's consistency check applied every few hundred accesses and at the end of the run.
/// </summary>
public sealed class ClientInstance : IDisposable
{
    private const int CheckEvery = 256;
    private const ulong HmmChunk = 16;

    private readonly DeviceMirror? _hmm;
    private readonly GruDeviceTlb? _gru;
    private readonly XpmemSegment? _segment;
    private readonly List<XpmemAttachment> _attachments = [];
    private readonly RemotePartition? _remote;
    private readonly Hva _start;
    private readonly ulong _pages;
    private readonly Random _random;
    private long _operations;
    private long _checks;

    public ClientInstance(ClientSpec spec, GuestInstance guest, MirrorMutations mutations, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(guest);
        Spec = spec;
        Guest = guest;
        var slot = guest.Slots[0];
        _start = slot.Hva;
        _pages = (ulong)((spec.Size > 0 ? spec.Size : slot.Spec.Size) / ScenarioUnits.PageSize);
        // A stable hash of the name (string.GetHashCode differs per process; a deterministic run must not).
        _random = new Random(unchecked((int)(seed ^ (seed >> 32))) ^ spec.Name.Aggregate(17, (h, c) => unchecked((h * 31) + c)));
        switch (spec.Kind)
        {
            case ClientKind.HmmMirror:
                _hmm = new DeviceMirror(guest.Mm, spec.Name, mutations)
                {
                    PreemptInFaultWindowEvery = GuestInstance.PreemptionRate,
                    CommandTime = TimeSpan.FromMicroseconds(spec.CommandMicros),
                };
                Statistics = _hmm.Statistics;
                break;
            case ClientKind.GruTlb:
                _gru = new GruDeviceTlb(guest.Mm, spec.Name, mutations);
                Statistics = _gru.Statistics;
                break;
            default:
                _segment = new XpmemSegment(guest.Mm, _start, _pages, spec.Name, mutations);
                Statistics = _segment.Statistics;
                _attachments.Add(_segment.Attach($"{spec.Name}-local"));
                if (spec.RemoteLatencyMicros is { } micros)
                {
                    _remote = new RemotePartition(spec.Name, TimeSpan.FromMicroseconds(micros));
                    _attachments.Add(_segment.Attach($"{spec.Name}-remote", _remote));
                }

                _attachments.ForEach(a => a.PreemptInFaultWindowEvery = GuestInstance.PreemptionRate);

                break;
        }
    }

    public ClientSpec Spec { get; }

    public GuestInstance Guest { get; }

    public ClientStatistics Statistics { get; }

    /// <summary>Starts the client's thread; it stops when <paramref name="control"/> asks.</summary>
    public Thread CreateThread(RunControl control)
    {
        ArgumentNullException.ThrowIfNull(control);
        var thread = SchedulingPoint.CreateThread($"client:{Spec.Kind}:{Spec.Name}", control.Guard(() =>
        {
            // An OOM kill ends the VMM's device work: a killed process issues no more commands (the reaper, which
            // found the device busy, then gets the mutex on a later attempt).
            while (!control.StopRequested && !Guest.Mm.IsDead && !Guest.Mm.IsOomReaped)
            {
                Step();
                if (++_operations % CheckEvery == 0)
                {
                    Check();
                }

                SchedulingPoint.Yield("device burst"); // a device issues work in bursts; it does not hold its lock in a loop
            }
        }));
        return thread;
    }

    /// <summary>Applies the kind's consistency rule (violations go to the host's log); returns the mismatches.</summary>
    public int Check()
    {
        _checks++;
        return _hmm?.CheckCoherence() ?? _gru?.CheckCoherence() ?? _segment!.CheckCoherence();
    }

    public ClientSummary Summarize() => new(Spec.Name, ScenarioFields.EnumValue(Spec.Kind), Spec.Guest, _operations,
        Statistics.Invalidations, Statistics.Refusals, Statistics.Retries, Statistics.Faults, Statistics.EntriesDropped,
        Math.Round(Statistics.CallbackTime.TotalMicroseconds, 1), _checks);

    /// <summary>
    /// Detaches from the address space (interval remove or notifier unregister, whose release purges every importer,
    /// the remote one by message), then shuts the remote partition down.
    /// </summary>
    public void Dispose()
    {
        _hmm?.Dispose();
        if (_gru is not null)
        {
            Guest.Mm.UnregisterNotifier(_gru);
        }

        if (_segment is not null)
        {
            Guest.Mm.UnregisterNotifier(_segment);
        }

        _remote?.Dispose();
    }

    private void Step()
    {
        var page = (ulong)_random.NextInt64((long)_pages);
        var hva = _start.AddPages(page);
        var write = _random.Next(4) == 0;
        if (_hmm is not null)
        {
            var count = Math.Min(HmmChunk, _pages - page);
            // Devices never store into guest RAM here (a guest's oracle checks that it reads back its own writes): a
            // "write" is a write fault, which maps the pages writable and breaks copy-on-write like a real one.
            _ = write ? _hmm.Fault(hva, hva.AddPages(count), write: true) : _hmm.Read(hva, count, new ulong[count]).Status;
        }
        else if (_gru is not null)
        {
            _gru.Access(hva, write: false, 0, out _);
        }
        else
        {
            _attachments[_random.Next(_attachments.Count)].Read(page, out _);
        }
    }
}
