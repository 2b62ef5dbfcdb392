using System.Collections.Concurrent;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>
/// A test notifier: records every callback (kind, range or page, event, cause, thread) into a shared
/// <see cref="EventLog"/>, snapshots the watched PTEs and frames from inside the callback, and can park a callback
/// (<see cref="ParkNext"/>) or refuse starts (<see cref="Policy"/>). It keeps no secondary mappings of its own.
/// </summary>
public sealed class RecordingNotifier : IMmuNotifier
{
    private readonly ConcurrentDictionary<Hva, byte> _watchedHvas = new();
    private readonly ConcurrentDictionary<Pfn, byte> _watchedPfns = new();
    private readonly ConcurrentDictionary<CallbackKind, CallbackGate> _gates = new();

    public RecordingNotifier(string name, EventLog log)
    {
        Name = name;
        Log = log;
    }

    public string Name { get; }

    public EventLog Log { get; }

    /// <summary>How <see cref="InvalidateRangeStart"/> answers. May be changed at any time.</summary>
    public StartPolicy Policy { get; set; } = StartPolicy.Accept;

    /// <summary>Whether this notifier implements end (a refusing notifier must not). Default true.</summary>
    public bool HasEnd { get; set; } = true;

    public bool HasInvalidateRangeEnd => HasEnd;

    /// <summary>This notifier's entries, in order.</summary>
    public IReadOnlyList<NotifierCall> Calls => Log.Of(Name);

    /// <summary>This notifier's entries of one kind, in order.</summary>
    public IReadOnlyList<NotifierCall> CallsOf(CallbackKind kind) => [.. Calls.Where(c => c.Kind == kind)];

    /// <summary>Snapshot the PTE of <paramref name="hva"/> (<c>mm.PteOf</c>) at every callback.</summary>
    public RecordingNotifier Watch(Hva hva)
    {
        _watchedHvas.TryAdd(hva, 0);
        return this;
    }

    /// <summary>Snapshot the state of <paramref name="pfn"/> (free? refs? maps?) at every callback.</summary>
    public RecordingNotifier Watch(Pfn pfn)
    {
        _watchedPfns.TryAdd(pfn, 0);
        return this;
    }

    /// <summary>
    /// Parks the next callback of <paramref name="kind"/> (after it was recorded) until the returned gate is opened.
    /// </summary>
    public CallbackGate ParkNext(CallbackKind kind, CancellationToken cancellation)
    {
        var gate = new CallbackGate(kind, cancellation);
        if (!_gates.TryAdd(kind, gate))
        {
            gate.Dispose();
            throw new InvalidOperationException($"{Name}: a {kind} callback is already set to park");
        }

        return gate;
    }

    public void Release(AddressSpace mm) => Record(mm, CallbackKind.Release, default, default, null, null, true);

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        Record(mm, CallbackKind.InvalidateRangeStart, range.Start, range.End, range.Event, range.Cause, range.Blockable);
        return Policy switch
        {
            StartPolicy.Accept => true,
            StartPolicy.RefuseNonBlockable => range.Blockable,
            _ => false,
        };
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range) =>
        Record(mm, CallbackKind.InvalidateRangeEnd, range.Start, range.End, range.Event, range.Cause, range.Blockable);

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause) =>
        Record(mm, CallbackKind.InvalidatePage, hva, hva + Hva.PageSize, null, cause, true);

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end)
    {
        Record(mm, CallbackKind.ClearFlushYoung, start, end, null, null, true);
        return false;
    }

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end)
    {
        Record(mm, CallbackKind.ClearYoung, start, end, null, null, true);
        return false;
    }

    public bool TestYoung(AddressSpace mm, Hva hva)
    {
        Record(mm, CallbackKind.TestYoung, hva, hva + Hva.PageSize, null, null, true);
        return false;
    }

    private void Record(AddressSpace mm, CallbackKind kind, Hva start, Hva end, NotifierEvent? evt, InvalidationCause? cause, bool blockable)
    {
        // Snapshot before taking the log's lock: the host state is what the callback would see on entry.
        var ptes = _watchedHvas.Keys.ToDictionary(h => h, mm.PteOf);
        var memory = mm.Host.Memory;
        var frames = _watchedPfns.Keys.ToDictionary(p => p, p => new FrameSnapshot(memory.IsFree(p), memory.RefCount(p), memory.MapCount(p)));
        var thread = Environment.CurrentManagedThreadId;
        Log.Append(seq => new NotifierCall(seq, Name, kind, start, end, evt, cause, blockable, thread, ptes, frames, string.Empty));

        if (_gates.TryRemove(kind, out var gate))
        {
            gate.Park();
            Log.Append(seq => new NotifierCall(seq, Name, CallbackKind.CallbackReturned, start, end, evt, cause, blockable, thread,
                EventLog.EmptyPtes, EventLog.EmptyFrames, kind.ToString()));
            gate.MarkReturned();
        }
    }

    public override string ToString() => Name;
}
