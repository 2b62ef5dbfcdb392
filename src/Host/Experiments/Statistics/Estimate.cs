using System.Globalization;

namespace Hypervisor.Host.Experiments.Statistics;

/// <summary>A median with its 95% confidence interval, over <see cref="Count"/> measurements.</summary>
internal readonly record struct Estimate(int Count, double Median, double Low, double High)
{
    /// <summary>"12.3 (11.9–13.0)", with <paramref name="format"/> for each number.</summary>
    public string Format(string format = "0.##") => Count == 0
        ? "–"
        : Low == High
            ? Median.ToString(format, CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{Median.ToString(format, CultureInfo.InvariantCulture)} ({Low.ToString(format, CultureInfo.InvariantCulture)}–{High.ToString(format, CultureInfo.InvariantCulture)})");

    /// <summary>True when the interval excludes <paramref name="value"/>.</summary>
    public bool Excludes(double value) => Count > 0 && (Low > value || High < value);
}
