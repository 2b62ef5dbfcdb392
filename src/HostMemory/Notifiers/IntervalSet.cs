namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// The interval tree of a chain (<c>rb_root_cached itree</c>), as an immutable array sorted by start with a running
/// maximum of the last addresses: a query is two binary searches plus the hits. Changes copy the array. Hand-written
/// because no maintained interval-tree package is available, and because the chain's rule that the set never changes
/// while an invalidation iterates it (odd sequence) is easiest to keep with an immutable snapshot.
/// </summary>
internal sealed class IntervalSet
{
    public static readonly IntervalSet Empty = new([]);

    private readonly IntervalNotifier[] _byStart;

    // _maxLast[i] = max(_byStart[0..i].Last): lets a query skip every prefix that ends before it starts.
    private readonly ulong[] _maxLast;

    private IntervalSet(IntervalNotifier[] byStart)
    {
        _byStart = byStart;
        _maxLast = new ulong[byStart.Length];
        ulong max = 0;
        for (var i = 0; i < byStart.Length; i++)
        {
            max = Math.Max(max, byStart[i].Last);
            _maxLast[i] = max;
        }
    }

    public int Count => _byStart.Length;

    public IntervalSet Insert(IntervalNotifier sub)
    {
        var at = UpperBound(sub.Start.Value);
        return new IntervalSet([.. _byStart.AsSpan(0, at), sub, .. _byStart.AsSpan(at)]);
    }

    public IntervalSet Remove(IntervalNotifier sub)
    {
        var at = Array.IndexOf(_byStart, sub);
        return at < 0 ? this : new IntervalSet([.. _byStart.AsSpan(0, at), .. _byStart.AsSpan(at + 1)]);
    }

    /// <summary><c>interval_tree_iter_first/next</c> over [first, last]: every interval overlapping it, by start.</summary>
    public IntervalNotifier[] Overlapping(ulong first, ulong last)
    {
        // Candidates start at or before `last`; among them, skip the prefix whose running maximum ends before `first`.
        var end = UpperBound(last);
        int lo = 0, hi = end;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_maxLast[mid] < first)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        List<IntervalNotifier>? hits = null;
        for (var i = lo; i < end; i++)
        {
            if (_byStart[i].Last >= first)
            {
                (hits ??= []).Add(_byStart[i]);
            }
        }

        return hits is null ? [] : [.. hits];
    }

    /// <summary>Index of the first interval whose start is greater than <paramref name="address"/>.</summary>
    private int UpperBound(ulong address)
    {
        int lo = 0, hi = _byStart.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_byStart[mid].Start.Value <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
