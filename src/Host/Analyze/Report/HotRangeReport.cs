namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// The busiest ranges. Counting is exact until too many distinct ranges appear; past that, counts may be low by at
/// most <paramref name="ErrorBound"/> (0 when exact).
/// </summary>
internal sealed record HotRangeReport(long ErrorBound, IReadOnlyList<HotRange> Ranges);
