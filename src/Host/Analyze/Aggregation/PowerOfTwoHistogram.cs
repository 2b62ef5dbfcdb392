using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>Counts non-negative integers in buckets 0, 1, 2-3, 4-7, 8-15, ...: one bucket per power of two.</summary>
internal sealed class PowerOfTwoHistogram
{
    private readonly long[] _counts = new long[65]; // [0] holds zero; [k + 1] holds [2^k, 2^(k+1) - 1]

    public long Count { get; private set; }

    public void Add(long value)
    {
        Count++;
        _counts[value <= 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value)]++;
    }

    /// <summary>The buckets from the first to the last non-empty one (empty ones between kept, so a chart has no gaps).</summary>
    public IReadOnlyList<HistogramBucket> ToBuckets()
    {
        var first = Array.FindIndex(_counts, c => c != 0);
        if (first < 0)
        {
            return [];
        }

        var last = Array.FindLastIndex(_counts, c => c != 0);
        var buckets = new List<HistogramBucket>(last - first + 1);
        for (var i = first; i <= last; i++)
        {
            var (low, high) = i == 0 ? (0L, 0L) : (1L << (i - 1), i == 64 ? long.MaxValue : (1L << i) - 1);
            var label = low == high ? low.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{low}-{high}";
            buckets.Add(new HistogramBucket(label, low, high, _counts[i], Ratio.Of(_counts[i], Count)));
        }

        return buckets;
    }
}
