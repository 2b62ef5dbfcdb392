namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// Zipf ranks by rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to generate variates from monotone
/// discrete distributions", 1996), as Apache Commons RNG implements it: O(1) memory and expected O(1) time whatever
/// the number of elements, so a working set of 100M pages costs nothing to set up. Rank 1 is the most popular; the
/// probability of rank k is proportional to k^-exponent.
/// </summary>
internal sealed class ZipfSampler
{
    private readonly double _exponent;
    private readonly double _elements;
    private readonly double _hIntegralX1;
    private readonly double _hIntegralElements;
    private readonly double _s;

    /// <param name="elements">Number of ranks, at least 1.</param>
    /// <param name="exponent">The exponent, &gt; 0.</param>
    public ZipfSampler(ulong elements, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfZero(elements);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exponent);
        _exponent = exponent;
        _elements = elements;
        _hIntegralX1 = HIntegral(1.5) - 1.0;
        _hIntegralElements = HIntegral(elements + 0.5);
        _s = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
    }

    /// <summary>A rank in [1, elements].</summary>
    public ulong Sample(ref Xoshiro256StarStar random)
    {
        while (true)
        {
            // u is uniform in (hIntegral(elements + 0.5), hIntegralX1]; invert it, round to the nearest rank, and
            // accept unless the rank lies in the sliver where the hat function exceeds the distribution.
            var u = _hIntegralElements + (random.NextDouble() * (_hIntegralX1 - _hIntegralElements));
            var x = HIntegralInverse(u);
            var k = Math.Clamp(Math.Floor(x + 0.5), 1.0, _elements);
            if (k - x <= _s || u >= HIntegral(k + 0.5) - H(k))
            {
                return (ulong)k;
            }
        }
    }

    /// <summary>H(x), an integral of h(x) = x^-exponent, written to stay accurate as the exponent nears 1.</summary>
    private double HIntegral(double x)
    {
        var logX = Math.Log(x);
        return Helper2((1.0 - _exponent) * logX) * logX;
    }

    private double H(double x) => Math.Exp(-_exponent * Math.Log(x));

    private double HIntegralInverse(double x)
    {
        var t = Math.Max(x * (1.0 - _exponent), -1.0);
        return Math.Exp(Helper1(t) * x);
    }

    /// <summary>log(1 + x) / x; near 0 its series, because <c>LogP1</c> may be computed as log(1 + x) and lose digits.</summary>
    private static double Helper1(double x) =>
        Math.Abs(x) > 1e-4 ? double.LogP1(x) / x : 1.0 - (x * (0.5 - (x * ((1.0 / 3.0) - (0.25 * x)))));

    /// <summary>(exp(x) - 1) / x; near 0 its series, because <c>ExpM1</c> may be computed as exp(x) - 1 and lose digits.</summary>
    private static double Helper2(double x) =>
        Math.Abs(x) > 1e-4 ? double.ExpM1(x) / x : 1.0 + (x * 0.5 * (1.0 + (x * (1.0 / 3.0) * (1.0 + (0.25 * x)))));
}
