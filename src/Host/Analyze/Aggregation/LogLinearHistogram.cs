namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// A mergeable quantile sketch for positive values (invalidation durations in microseconds): each power of two is
/// split into 64 linear sub-buckets, so a quantile is reported within 1/128 (0.8 %) of a value of its bucket. Count,
/// sum, minimum and maximum are exact. Fixed size (about 40 KiB) whatever the number of values.
/// </summary>
internal sealed class LogLinearHistogram
{
    private const int SubBucketBits = 6;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int MinExponent = -20; // about 1e-6: below that a value counts as "tiny"
    private const int MaxExponent = 62;
    private const int MantissaBits = 52;

    private readonly long[] _counts = new long[(MaxExponent - MinExponent + 1) * SubBuckets];
    private long _tiny; // zero, negative, or below 2^MinExponent: reported as the minimum

    public long Count { get; private set; }

    public double Sum { get; private set; }

    /// <summary>The smallest value added (0 when empty).</summary>
    public double Min => Count == 0 ? 0 : _min;

    /// <summary>The largest value added (0 when empty).</summary>
    public double Max => Count == 0 ? 0 : _max;

    public double Mean => Count == 0 ? 0 : Sum / Count;

    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    public void Add(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return;
        }

        Count++;
        Sum += value;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
        var bits = BitConverter.DoubleToInt64Bits(value);
        var exponent = (int)((bits >> MantissaBits) & 0x7FF) - 1023;
        if (value <= 0 || exponent < MinExponent)
        {
            _tiny++;
            return;
        }

        var sub = (int)((bits >> (MantissaBits - SubBucketBits)) & (SubBuckets - 1));
        if (exponent > MaxExponent)
        {
            exponent = MaxExponent;
            sub = SubBuckets - 1;
        }

        _counts[((exponent - MinExponent) * SubBuckets) + sub]++;
    }

    /// <summary>The nearest-rank quantile (<paramref name="q"/> in [0, 1]); 0 when empty.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Clamp((long)Math.Ceiling(q * Count), 1, Count);
        if (rank == Count)
        {
            return _max;
        }

        var seen = _tiny;
        if (seen >= rank)
        {
            return _min;
        }

        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                var exponent = (i / SubBuckets) + MinExponent;
                var sub = i % SubBuckets;
                var low = Math.ScaleB(1.0 + ((double)sub / SubBuckets), exponent);
                var high = Math.ScaleB(1.0 + ((double)(sub + 1) / SubBuckets), exponent);
                return Math.Clamp((low + high) / 2, _min, _max);
            }
        }

        return _max;
    }

    /// <summary>Adds another sketch's values to this one.</summary>
    public void Merge(LogLinearHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        _tiny += other._tiny;
        Count += other.Count;
        Sum += other.Sum;
        _min = Math.Min(_min, other._min);
        _max = Math.Max(_max, other._max);
    }
}
