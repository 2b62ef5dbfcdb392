using System.Collections.Concurrent;

namespace Hypervisor.HostMemory.Diagnostics;

/// <summary>
/// Counts violations by kind and keeps the first occurrence of each. Thread-safe; reporting is rare, so it may
/// allocate. An optional observer sees every report (the runner forwards them to its event channel).
/// </summary>
public sealed class ViolationLog
{
    private readonly ConcurrentDictionary<string, long> _counts = new();
    private readonly ConcurrentDictionary<string, ViolationRecord> _first = new();
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private long _total;

    public ViolationLog(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _startTimestamp = _time.GetTimestamp();
    }

    /// <summary>Called for every report, outside any simulator lock. Must not block for long.</summary>
    public Action<ViolationRecord>? Observer { get; set; }

    public long Total => Interlocked.Read(ref _total);

    public TimeSpan Elapsed => _time.GetElapsedTime(_startTimestamp);

    public void Report(ViolationKind kind, in AccessSite site, int pfn, string detail) =>
        Report(new ViolationRecord(kind, site.Actor, site.Vcpu, site.Address, pfn, Elapsed, detail));

    public void Report(ViolationRecord record)
    {
        Interlocked.Increment(ref _total);
        _counts.AddOrUpdate(record.Kind.Name, 1, static (_, n) => n + 1);
        _first.TryAdd(record.Kind.Name, record);
        Observer?.Invoke(record);
    }

    public long Count(ViolationKind kind) => _counts.TryGetValue(kind.Name, out var n) ? n : 0;

    /// <summary>Counts by kind name, sorted by name.</summary>
    public IReadOnlyDictionary<string, long> ByKind() =>
        new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    /// <summary>The first occurrence of each kind, sorted by kind name.</summary>
    public IReadOnlyList<ViolationRecord> FirstOccurrences() =>
        _first.Values.OrderBy(r => r.Kind.Name, StringComparer.Ordinal).ToList();
}
