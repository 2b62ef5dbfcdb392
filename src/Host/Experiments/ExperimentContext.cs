using System.Diagnostics;

namespace Hypervisor.Host.Experiments;

/// <summary>
/// What an experiment is given to run: the seeds, a scale for its repetition counts (1 for the defaults that take
/// about two minutes on a 2-core machine; tests pass less), a place for progress lines, and the list its
/// measurements go to.
/// </summary>
internal sealed class ExperimentContext(IReadOnlyList<int> seeds, double scale, TextWriter progress)
{
    private readonly List<Measurement> _measurements = [];
    private readonly Dictionary<(string, string, double, int), int> _samples = [];

    public IReadOnlyList<int> Seeds { get; } = seeds;

    /// <summary>Multiplies every repetition count (see <see cref="Scaled"/>); 1 is the documented default.</summary>
    public double Scale { get; } = scale;

    public TextWriter Progress { get; } = progress;

    public IReadOnlyList<Measurement> Measurements => _measurements;

    /// <summary>A repetition count at this run's scale, never below <paramref name="minimum"/>.</summary>
    public int Scaled(int count, int minimum = 1) => Math.Max(minimum, (int)Math.Round(count * Scale));

    /// <summary>Adds one measurement; the sample number counts up per (variant, metric, x, seed).</summary>
    public void Record(string variant, string metric, string unit, double x, int seed, double value)
    {
        Debug.Assert(double.IsFinite(value), "a measurement is a finite number");
        var key = (variant, metric, x, seed);
        _samples.TryGetValue(key, out var sample);
        _samples[key] = sample + 1;
        _measurements.Add(new Measurement(variant, metric, unit, x, seed, sample, value));
    }

    /// <summary>Every value recorded for (variant, metric[, x]).</summary>
    public IReadOnlyList<double> Values(string variant, string metric, double? x = null) =>
        [.. _measurements.Where(m => m.Variant == variant && m.Metric == metric && (x is null || m.X == x)).Select(m => m.Value)];
}
