using Hypervisor.Host.Experiments.Statistics;

namespace Hypervisor.Host.Experiments.Output;

/// <summary>
/// A chart of medians with their 95% intervals as error bars. With numeric x values it is a line chart (one line per
/// series), otherwise grouped bars (one group per x label, one bar per series).
/// </summary>
internal sealed record ChartSpec(string FileName, string Title, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series, bool LogX = false, bool LogY = false);

/// <summary>One series of a chart.</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<ChartPoint> Points);

/// <summary>A point: its x label (and numeric x for line charts) and the estimate drawn there.</summary>
internal sealed record ChartPoint(string Label, double? X, Estimate Value);
