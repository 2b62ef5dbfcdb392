using System.Diagnostics;

namespace Hypervisor.Mirrors.Common;

/// <summary>
/// Counters every client keeps, the same for every kind, so that reports can break invalidations, retries, refusals
/// and callback time down by client and kind. Updated with <see cref="Interlocked"/>: callbacks run on host threads.
/// </summary>
public sealed class ClientStatistics(string client, ClientKind kind)
{
    private long _invalidations;
    private long _refusals;
    private long _retries;
    private long _faults;
    private long _entriesDropped;
    private long _callbackTicks;

    public string Client { get; } = client;

    public ClientKind Kind { get; } = kind;

    public long Invalidations => Interlocked.Read(ref _invalidations);

    /// <summary>Non-blockable invalidations refused (<c>-EAGAIN</c>).</summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    /// <summary>Faults that had to start over because an invalidation collided with them.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public long Faults => Interlocked.Read(ref _faults);

    public long EntriesDropped => Interlocked.Read(ref _entriesDropped);

    /// <summary>Time spent inside invalidation callbacks.</summary>
    public TimeSpan CallbackTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _callbackTicks));

    internal void Invalidated(long startTimestamp, int dropped)
    {
        Interlocked.Increment(ref _invalidations);
        Interlocked.Add(ref _entriesDropped, dropped);
        Interlocked.Add(ref _callbackTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    internal void Refused() => Interlocked.Increment(ref _refusals);

    internal void Retried() => Interlocked.Increment(ref _retries);

    internal void Faulted() => Interlocked.Increment(ref _faults);

    public override string ToString() =>
        $"{Client} ({Kind}): {Invalidations} invalidations, {Refusals} refused, {Retries} retries, {Faults} faults, {CallbackTime.TotalMicroseconds:F0} µs in callbacks";
}
