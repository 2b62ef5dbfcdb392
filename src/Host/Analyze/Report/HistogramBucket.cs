namespace Hypervisor.Host.Analyze.Report;

/// <summary>One bucket of a power-of-two histogram: values in [<paramref name="Min"/>, <paramref name="Max"/>].</summary>
internal sealed record HistogramBucket(string Label, long Min, long Max, long Count, double Share);
