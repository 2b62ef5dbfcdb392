using Hypervisor.GuestModel.Summary;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// Process-wide running totals kept by the consumer, read by the metrics and the live progress display from other
/// threads. Guest counters arrive as cumulative statistics per run; each arrival adds its increase over the previous
/// one of the same run and guest, so the totals only grow, across runs and restarts.
/// </summary>
internal sealed class LiveTotals
{
    // Written by the consumer thread only (Interlocked so that readers on other threads see whole values).
    private long _accesses;
    private long _faults;
    private long _retries;
    private long _tlbFlushes;
    private long _invalidations;
    private long _violations;

    // Owned by the consumer thread: the last cumulative counters per (run, guest).
    private readonly Dictionary<(string RunId, string Guest), GuestSummary> _last = [];

    public long Accesses => Interlocked.Read(ref _accesses);

    public long Faults => Interlocked.Read(ref _faults);

    public long Retries => Interlocked.Read(ref _retries);

    public long TlbFlushes => Interlocked.Read(ref _tlbFlushes);

    public long Invalidations => Interlocked.Read(ref _invalidations);

    public long Violations => Interlocked.Read(ref _violations);

    /// <summary>Consumer thread: one invalidation was logged.</summary>
    public void AddInvalidation() => Interlocked.Increment(ref _invalidations);

    /// <summary>Consumer thread: one violation was logged.</summary>
    public void AddViolation() => Interlocked.Increment(ref _violations);

    /// <summary>Consumer thread: a guest's cumulative counters of run <paramref name="runId"/>.</summary>
    public void AddStatistics(string runId, GuestSummary now)
    {
        var key = (runId, now.Name);
        var before = _last.GetValueOrDefault(key);
        _last[key] = now;
        Interlocked.Add(ref _accesses, now.Accesses - (before?.Accesses ?? 0));
        Interlocked.Add(ref _faults, now.Faults - (before?.Faults ?? 0));
        Interlocked.Add(ref _retries, now.FaultRetries - (before?.FaultRetries ?? 0));
        Interlocked.Add(ref _tlbFlushes, now.TlbFlushes - (before?.TlbFlushes ?? 0));
    }

    /// <summary>Consumer thread: run <paramref name="runId"/> is over; forget its guests.</summary>
    public void EndRun(string runId)
    {
        foreach (var key in _last.Keys.Where(k => k.RunId == runId).ToList())
        {
            _last.Remove(key);
        }
    }
}
