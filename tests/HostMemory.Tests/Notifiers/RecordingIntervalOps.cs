using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>
/// A test interval subscriber shaped like test_hmm's <c>dmirror_interval_invalidate</c>: takes its user lock (try
/// only when the range is not blockable, refusing when busy), sets the sequence under it, and records the call into
/// a shared list. <see cref="UserLock"/> is what a fault side holds around <c>ReadRetry</c>.
/// </summary>
public sealed class RecordingIntervalOps(string name, List<string> log) : IIntervalNotifierOps
{
    /// <summary>The user lock (test_hmm's <c>dmirror-&gt;mutex</c>); not re-entrant, like a kernel mutex.</summary>
    public SemaphoreSlim UserLock { get; } = new(1, 1);

    /// <summary>Refuse every start, even blockable ones (a broken subscriber).</summary>
    public bool RefuseAlways { get; set; }

    public List<NotifierRange> Ranges { get; } = [];

    public bool Invalidate(IntervalNotifier subscription, in NotifierRange range, ulong currentSeq)
    {
        lock (log)
        {
            log.Add($"{name}.invalidate");
            Ranges.Add(range);
        }

        if (RefuseAlways)
        {
            return false;
        }

        if (range.Blockable)
        {
            UserLock.Wait();
        }
        else if (!UserLock.Wait(0))
        {
            return false;
        }

        try
        {
            subscription.SetSeq(currentSeq);
        }
        finally
        {
            UserLock.Release();
        }

        return true;
    }
}
