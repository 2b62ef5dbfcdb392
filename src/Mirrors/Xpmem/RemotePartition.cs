using System.Collections.Concurrent;
using System.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Xpmem;

/// <summary>
/// A modelled remote partition reached over the fabric: purge messages are handled by its own thread after a
/// configurable one-way latency, and each handled message is acknowledged. The exporter's invalidation sleeps until
/// every acknowledgement is in (the reason XPMEM needed sleepable notifiers).
/// </summary>
public sealed class RemotePartition : IDisposable
{
    private readonly BlockingCollection<(Action Work, ManualResetEventSlim Ack)> _inbox = [];
    private readonly Thread _thread;

    public RemotePartition(string name, TimeSpan latency)
    {
        Name = name;
        Latency = latency;
        _thread = SchedulingPoint.CreateThread($"xpmem-remote-{name}", Run);
        SchedulingPoint.Start(_thread);
    }

    public string Name { get; }

    /// <summary>Time between sending a message and the remote acting on it.</summary>
    public TimeSpan Latency { get; }

    /// <summary>Sends <paramref name="work"/>; the returned event is set once the remote has done it.</summary>
    public ManualResetEventSlim Send(Action work)
    {
        var ack = new ManualResetEventSlim();
        _inbox.Add((work, ack));
        return ack;
    }

    public void Dispose()
    {
        _inbox.CompleteAdding();
        SchedulingPoint.Join(_thread);
        _inbox.Dispose();
    }

    private void Run()
    {
        if (SchedulingPoint.IsControlled)
        {
            RunControlled();
            return;
        }

        foreach (var (work, ack) in _inbox.GetConsumingEnumerable())
        {
            // Wire latency; microseconds are below the timer's resolution, so spin (yielding) until it has passed.
            var until = Stopwatch.GetTimestamp() + (long)(Latency.TotalSeconds * Stopwatch.Frequency);
            var spin = new SpinWait();
            while (Stopwatch.GetTimestamp() < until)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            work();
            ack.Set();
        }
    }

    /// <summary>The same loop in a controlled run: the inbox wait and the wire latency are in virtual time.</summary>
    private void RunControlled()
    {
        while (true)
        {
            // Named wait: a purge message arrives, or the partition shuts down.
            SchedulingPoint.WaitUntil(() => _inbox.Count > 0 || _inbox.IsAddingCompleted, Timeout.InfiniteTimeSpan, "xpmem remote inbox");
            if (!_inbox.TryTake(out var message))
            {
                return; // completed and drained
            }

            SchedulingPoint.Sleep(Latency, "fabric latency");
            message.Work();
            message.Ack.Set();
        }
    }
}
