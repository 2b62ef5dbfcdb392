using System.Collections.Concurrent;
using System.Diagnostics;

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
        _thread = new Thread(Run) { Name = $"xpmem-remote-{name}", IsBackground = true };
        _thread.Start();
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
        _thread.Join();
        _inbox.Dispose();
    }

    private void Run()
    {
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
}
