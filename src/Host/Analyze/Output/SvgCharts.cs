using System.Globalization;
using System.Net;
using System.Text;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>
/// Small inline SVG charts (no script, no external resource): vertical bars, a line over time and horizontal bars on
/// a log scale. Each element carries a <c>&lt;title&gt;</c>, which browsers show as a tooltip.
/// </summary>
internal static class SvgCharts
{
    private const int Width = 720;
    private const int Height = 260;
    private const int Left = 64;
    private const int Right = 16;
    private const int Top = 28;
    private const int Bottom = 44;
    private const int PlotWidth = Width - Left - Right;
    private const int PlotHeight = Height - Top - Bottom;

    /// <summary>Vertical bars, one per labelled value.</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double Value)> bars, string unit)
    {
        var svg = Open(title);
        if (bars.Count == 0)
        {
            return Empty(svg);
        }

        var max = NiceCeiling(bars.Max(b => b.Value));
        YAxis(svg, max);
        var slot = (double)PlotWidth / bars.Count;
        var barWidth = Math.Max(1, slot * 0.8);
        // Skip labels so that the widest one fits in the room its bars leave (about 6.5 px per character at 11 px).
        var labelWidth = (bars.Max(b => b.Label.Length) * 6.5) + 8;
        var labelEvery = Math.Max(1, (int)Math.Ceiling(labelWidth / slot));
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            var h = max == 0 ? 0 : value / max * PlotHeight;
            var x = Left + (i * slot) + ((slot - barWidth) / 2);
            svg.Append(F($"<rect class=\"bar\" x=\"{x:0.##}\" y=\"{Top + PlotHeight - h:0.##}\" width=\"{barWidth:0.##}\" height=\"{h:0.##}\">"))
                .Append($"<title>{Encode(label)}: {Encode(CellText.Human(value))} {Encode(unit)}</title></rect>");
            if (i % labelEvery == 0)
            {
                svg.Append(F($"<text class=\"xl\" x=\"{x + (barWidth / 2):0.##}\" y=\"{Top + PlotHeight + 14}\">{Encode(label)}</text>"));
            }
        }

        return Close(svg, unit);
    }

    /// <summary>
    /// A line (with its area shaded) of y over x, x in seconds at multiples of <paramref name="xStep"/> (the timeline's
    /// bucket width): the axis is labelled at whole multiples of it, never between two buckets.
    /// </summary>
    public static string Line(string title, IReadOnlyList<(double X, double Y)> points, string unit, long xStep = 1)
    {
        var svg = Open(title);
        if (points.Count == 0)
        {
            return Empty(svg);
        }

        var maxY = NiceCeiling(points.Max(p => p.Y));
        double minX = points.Min(p => p.X), maxX = points.Max(p => p.X);
        var spanX = maxX > minX ? maxX - minX : 1;
        YAxis(svg, maxY);
        double X(double x) => Left + ((x - minX) / spanX * PlotWidth);
        double Y(double y) => Top + PlotHeight - (maxY == 0 ? 0 : y / maxY * PlotHeight);
        var line = string.Join(" ", points.Select(p => F($"{X(p.X):0.##},{Y(p.Y):0.##}")));
        var baseline = Top + PlotHeight;
        svg.Append(F($"<polygon class=\"area\" points=\"{X(minX):0.##},{baseline} {line} {X(maxX):0.##},{baseline}\"/>"))
            .Append($"<polyline class=\"line\" points=\"{line}\"/>");
        foreach (var p in points.Count <= 200 ? points : [])
        {
            svg.Append(F($"<circle class=\"dot\" cx=\"{X(p.X):0.##}\" cy=\"{Y(p.Y):0.##}\" r=\"2.5\">"))
                .Append(F($"<title>{p.X:0.##} s: {Encode(CellText.Human(p.Y))} {Encode(unit)}</title></circle>"));
        }

        foreach (var tick in TimeTicks(minX, maxX, xStep))
        {
            svg.Append(F($"<text class=\"xl\" x=\"{X(tick):0.##}\" y=\"{Top + PlotHeight + 14}\">{tick:0} s</text>"));
        }

        return Close(svg, unit);
    }

    /// <summary>
    /// About five axis labels between <paramref name="min"/> and <paramref name="max"/>: the multiples of a step
    /// that is 1, 2 or 5 times a power of ten times <paramref name="unit"/>, so every label is a whole bucket start.
    /// </summary>
    public static IReadOnlyList<double> TimeTicks(double min, double max, long unit)
    {
        unit = Math.Max(1, unit);
        var perTick = Math.Max(1, (max - min) / unit / 5);
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(perTick)));
        var nice = perTick <= magnitude ? 1 : perTick <= 2 * magnitude ? 2 : perTick <= 5 * magnitude ? 5 : 10;
        var step = unit * nice * magnitude;
        var ticks = new List<double>();
        for (var tick = Math.Ceiling(min / step) * step; tick <= max; tick += step)
        {
            ticks.Add(tick + 0.0); // + 0.0 turns a -0 into 0
        }

        return ticks;
    }

    /// <summary>Horizontal bars on a logarithmic scale (durations whose maximum dwarfs the median).</summary>
    public static string LogBars(string title, IReadOnlyList<(string Label, double Value)> bars, string unit)
    {
        var svg = Open(title);
        var positive = bars.Where(b => b.Value > 0).ToList();
        if (positive.Count == 0)
        {
            return Empty(svg);
        }

        var low = Math.Floor(Math.Log10(positive.Min(b => b.Value))) - 1;
        var high = Math.Ceiling(Math.Log10(positive.Max(b => b.Value)));
        var row = (double)PlotHeight / bars.Count;
        const double room = PlotWidth - 90; // leave the right of the plot to the value labels
        for (var decade = low; decade <= high; decade++)
        {
            var x = Left + ((decade - low) / (high - low) * room);
            svg.Append(F($"<line class=\"grid\" x1=\"{x:0.##}\" y1=\"{Top}\" x2=\"{x:0.##}\" y2=\"{Top + PlotHeight}\"/>"))
                .Append(F($"<text class=\"xl\" x=\"{x:0.##}\" y=\"{Top + PlotHeight + 14}\">{Encode(CellText.Human(Math.Pow(10, decade)))}</text>"));
        }

        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            var w = value <= 0 ? 0 : (Math.Log10(value) - low) / (high - low) * room;
            var y = Top + (i * row) + (row * 0.15);
            var text = $"{Encode(CellText.Human(value))} {Encode(unit)}";
            svg.Append(F($"<text class=\"yl\" x=\"{Left - 6}\" y=\"{y + (row * 0.45):0.##}\">{Encode(label)}</text>"))
                .Append(F($"<rect class=\"bar\" x=\"{Left}\" y=\"{y:0.##}\" width=\"{w:0.##}\" height=\"{row * 0.7:0.##}\">"))
                .Append($"<title>{Encode(label)}: {text}</title></rect>")
                .Append(F($"<text class=\"val\" x=\"{Left + w + 4:0.##}\" y=\"{y + (row * 0.45):0.##}\">{text}</text>"));
        }

        return Close(svg, unit + " (log scale)");
    }

    private static StringBuilder Open(string title) => new StringBuilder()
        .Append(F($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Encode(title)}\">"))
        .Append(F($"<text class=\"title\" x=\"{Left}\" y=\"18\">{Encode(title)}</text>"));

    private static string Close(StringBuilder svg, string unit) => svg
        .Append(F($"<line class=\"axis\" x1=\"{Left}\" y1=\"{Top + PlotHeight}\" x2=\"{Left + PlotWidth}\" y2=\"{Top + PlotHeight}\"/>"))
        .Append(F($"<text class=\"unit\" x=\"{Left + PlotWidth}\" y=\"{Height - 6}\">{Encode(unit)}</text>"))
        .Append("</svg>")
        .ToString();

    private static string Empty(StringBuilder svg) =>
        svg.Append(F($"<text class=\"unit\" x=\"{Width / 2}\" y=\"{Height / 2}\">no data</text></svg>")).ToString();

    private static void YAxis(StringBuilder svg, double max)
    {
        for (var i = 0; i <= 4; i++)
        {
            var y = Top + PlotHeight - (PlotHeight * i / 4.0);
            svg.Append(F($"<line class=\"grid\" x1=\"{Left}\" y1=\"{y:0.##}\" x2=\"{Left + PlotWidth}\" y2=\"{y:0.##}\"/>"))
                .Append(F($"<text class=\"yl\" x=\"{Left - 6}\" y=\"{y + 4:0.##}\">{Encode(CellText.Human(max * i / 4))}</text>"));
        }
    }

    /// <summary>The smallest 1, 2 or 5 times a power of ten at or above <paramref name="value"/>.</summary>
    private static double NiceCeiling(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return new[] { 1.0, 2, 5, 10 }.Select(m => m * magnitude).First(v => v >= value);
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
