using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;

namespace Hypervisor.Host.Experiments.Statistics;

/// <summary>
/// The statistics of the reports: medians with percentile-bootstrap 95% confidence intervals (robust to the outliers
/// a shared machine produces, no normality assumed), the relative difference of two medians with its interval, and
/// least-squares fits for growth. Resampling is seeded, so a report computed twice from one CSV is the same.
/// </summary>
internal static class Stats
{
    private const int Resamples = 2000;

    /// <summary>The median of <paramref name="values"/> and its 95% bootstrap interval.</summary>
    public static Estimate Median(IReadOnlyList<double> values, int seed = 1)
    {
        if (values.Count == 0)
        {
            return default;
        }

        var median = MathNet.Numerics.Statistics.Statistics.Median(values);
        if (values.Count == 1)
        {
            return new Estimate(1, median, median, median);
        }

        var random = new Xoshiro256StarStar(seed);
        var medians = new double[Resamples];
        var sample = new double[values.Count];
        for (var r = 0; r < Resamples; r++)
        {
            for (var i = 0; i < sample.Length; i++)
            {
                sample[i] = values[random.Next(values.Count)];
            }

            medians[r] = MathNet.Numerics.Statistics.Statistics.Median(sample);
        }

        return new Estimate(values.Count, median, Quantile(medians, 0.025), Quantile(medians, 0.975));
    }

    /// <summary>
    /// 100 × (median(<paramref name="treatment"/>) / median(<paramref name="baseline"/>) − 1): how many percent the
    /// treatment's median is above the baseline's, with a 95% bootstrap interval (both samples resampled).
    /// </summary>
    public static Estimate PercentChange(IReadOnlyList<double> baseline, IReadOnlyList<double> treatment, int seed = 1)
    {
        if (baseline.Count == 0 || treatment.Count == 0)
        {
            return default;
        }

        static double Change(double b, double t) => b == 0 ? 0 : 100.0 * ((t / b) - 1);
        var point = Change(MathNet.Numerics.Statistics.Statistics.Median(baseline), MathNet.Numerics.Statistics.Statistics.Median(treatment));
        var random = new Xoshiro256StarStar(seed);
        var changes = new double[Resamples];
        var b = new double[baseline.Count];
        var t = new double[treatment.Count];
        for (var r = 0; r < Resamples; r++)
        {
            for (var i = 0; i < b.Length; i++)
            {
                b[i] = baseline[random.Next(b.Length)];
            }

            for (var i = 0; i < t.Length; i++)
            {
                t[i] = treatment[random.Next(t.Length)];
            }

            changes[r] = Change(MathNet.Numerics.Statistics.Statistics.Median(b), MathNet.Numerics.Statistics.Statistics.Median(t));
        }

        return new Estimate(Math.Min(baseline.Count, treatment.Count), point, Quantile(changes, 0.025), Quantile(changes, 0.975));
    }

    /// <summary>
    /// Growth of y with x: the least-squares line, its R², and the exponent k of y ∝ x^k (the slope on log-log axes)
    /// with its 95% t-interval. k ≈ 1 is linear growth, k ≈ 2 quadratic.
    /// </summary>
    public static GrowthFit Growth(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (intercept, slope) = Fit.Line([.. x], [.. y]);
        var r2 = GoodnessOfFit.RSquared(x.Select(v => intercept + (slope * v)), y);
        var lx = x.Select(v => Math.Log(v)).ToArray();
        var ly = y.Select(v => Math.Log(Math.Max(v, 1e-12))).ToArray();
        var (logIntercept, exponent) = Fit.Line(lx, ly);
        var n = lx.Length;
        double halfWidth = 0;
        if (n > 2)
        {
            var residual = lx.Zip(ly, (a, b) => b - (logIntercept + (exponent * a))).Sum(e => e * e) / (n - 2);
            var meanX = lx.Average();
            var sxx = lx.Sum(a => (a - meanX) * (a - meanX));
            halfWidth = StudentT.InvCDF(0, 1, n - 2, 0.975) * Math.Sqrt(residual / sxx);
        }

        return new GrowthFit(slope, intercept, r2, new Estimate(n, exponent, exponent - halfWidth, exponent + halfWidth));
    }

    private static double Quantile(double[] values, double p)
    {
        Array.Sort(values);
        return MathNet.Numerics.Statistics.SortedArrayStatistics.Quantile(values, p);
    }
}

/// <summary>A least-squares line y = <see cref="Intercept"/> + <see cref="Slope"/>·x and the log-log exponent.</summary>
internal readonly record struct GrowthFit(double Slope, double Intercept, double RSquared, Estimate Exponent);
