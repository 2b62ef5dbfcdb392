namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// Counts keys, exactly while there are at most <paramref name="capacity"/> of them; past that, the lower half of the
/// counts is dropped (lossy counting), so memory stays bounded and every surviving count is low by at most
/// <see cref="ErrorBound"/>. The top keys of a skewed stream (the busiest address ranges) survive.
/// </summary>
internal sealed class HeavyHitters<TKey>(int capacity)
    where TKey : notnull
{
    private readonly Dictionary<TKey, long> _counts = [];

    /// <summary>The most a reported count can be below the true one; 0 while counting is exact.</summary>
    public long ErrorBound { get; private set; }

    public void Add(TKey key)
    {
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_counts, key, out var existed)++;
        if (!existed && _counts.Count > capacity)
        {
            Prune();
        }
    }

    /// <summary>The <paramref name="count"/> most frequent keys, ties broken by <paramref name="tieBreak"/>.</summary>
    public IReadOnlyList<KeyValuePair<TKey, long>> Top<TOrder>(int count, Func<TKey, TOrder> tieBreak) =>
        [.. _counts.OrderByDescending(p => p.Value).ThenBy(p => tieBreak(p.Key)).Take(count)];

    private void Prune()
    {
        var values = _counts.Values.ToArray();
        Array.Sort(values);
        var median = values[values.Length / 2];
        foreach (var key in _counts.Where(p => p.Value <= median).Select(p => p.Key).ToList())
        {
            _counts.Remove(key);
        }

        ErrorBound += median; // a key dropped at several prunes lost at most each threshold
    }
}
