using System.Globalization;
using System.Net;
using System.Text;

namespace Hypervisor.Host.Experiments.Output;

/// <summary>
/// Draws a <see cref="ChartSpec"/> as a standalone SVG file (inline styles, no script, no external resource), which
/// a browser shows on its own and a Markdown viewer shows through an image link. Each mark has a
/// <c>&lt;title&gt;</c> with its median and interval, shown as a tooltip.
/// </summary>
internal static class SvgChartWriter
{
    private const int Width = 760;
    private const int Height = 360;
    private const int Left = 78;
    private const int Right = 170;
    private const int Top = 36;
    private const int Bottom = 56;
    private const int PlotWidth = Width - Left - Right;
    private const int PlotHeight = Height - Top - Bottom;
    private static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

    public static string Render(ChartSpec chart)
    {
        var svg = new StringBuilder();
        svg.Append(F($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">"))
            .Append(F($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>"))
            .Append(F($"<text x=\"{Width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{E(chart.Title)}</text>"));
        var points = chart.Series.SelectMany(s => s.Points).Where(p => p.Value.Count > 0).ToList();
        if (points.Count == 0)
        {
            return svg.Append(F($"<text x=\"{Width / 2}\" y=\"{Height / 2}\" text-anchor=\"middle\">no data</text></svg>")).ToString();
        }

        var (yMin, yMax) = YRange(chart, points);
        double Y(double v) => Top + PlotHeight - (Scale(v, yMin, yMax, chart.LogY) * PlotHeight);
        YAxis(svg, chart, yMin, yMax, Y);
        var numeric = chart.Series.All(s => s.Points.All(p => p.X is not null));
        if (numeric)
        {
            Lines(svg, chart, Y);
        }
        else
        {
            Bars(svg, chart, Y);
        }

        svg.Append(F($"<text x=\"{Left + (PlotWidth / 2)}\" y=\"{Height - 10}\" text-anchor=\"middle\">{E(chart.XLabel)}</text>"))
            .Append(F($"<text transform=\"translate(16,{Top + (PlotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{E(chart.YLabel)}</text>"));
        for (var i = 0; i < chart.Series.Count; i++)
        {
            var y = Top + 8 + (i * 18);
            svg.Append(F($"<rect x=\"{Width - Right + 14}\" y=\"{y - 9}\" width=\"12\" height=\"12\" fill=\"{Colour(i)}\"/>"))
                .Append(F($"<text x=\"{Width - Right + 32}\" y=\"{y + 1}\">{E(chart.Series[i].Name)}</text>"));
        }

        return svg.Append("</svg>").ToString();
    }

    private static void Lines(StringBuilder svg, ChartSpec chart, Func<double, double> y)
    {
        var xs = chart.Series.SelectMany(s => s.Points).Select(p => p.X!.Value).ToList();
        double xMin = xs.Min(), xMax = xs.Max();
        double X(double v) => Left + (Scale(v, xMin, xMax, chart.LogX) * PlotWidth);
        foreach (var label in chart.Series.SelectMany(s => s.Points).DistinctBy(p => p.X).OrderBy(p => p.X))
        {
            var x = X(label.X!.Value);
            svg.Append(F($"<line x1=\"{x:0.#}\" y1=\"{Top + PlotHeight}\" x2=\"{x:0.#}\" y2=\"{Top + PlotHeight + 4}\" stroke=\"#444\"/>"))
                .Append(F($"<text x=\"{x:0.#}\" y=\"{Top + PlotHeight + 18}\" text-anchor=\"middle\">{E(label.Label)}</text>"));
        }

        for (var i = 0; i < chart.Series.Count; i++)
        {
            var points = chart.Series[i].Points.Where(p => p.Value.Count > 0).OrderBy(p => p.X).ToList();
            var colour = Colour(i);
            svg.Append(F($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{string.Join(" ", points.Select(p => F($"{X(p.X!.Value):0.#},{y(p.Value.Median):0.#}")))}\"/>"));
            foreach (var p in points)
            {
                ErrorBar(svg, X(p.X!.Value), y, p, colour, chart.Series[i].Name);
                svg.Append(F($"<circle cx=\"{X(p.X!.Value):0.#}\" cy=\"{y(p.Value.Median):0.#}\" r=\"3.5\" fill=\"{colour}\"><title>{E(Tip(chart.Series[i].Name, p))}</title></circle>"));
            }
        }
    }

    private static void Bars(StringBuilder svg, ChartSpec chart, Func<double, double> y)
    {
        var labels = chart.Series.SelectMany(s => s.Points).Select(p => p.Label).Distinct().ToList();
        var group = (double)PlotWidth / labels.Count;
        var bar = group * 0.8 / chart.Series.Count;
        var baseline = y(chart.LogY ? double.Epsilon : 0);
        for (var g = 0; g < labels.Count; g++)
        {
            svg.Append(F($"<text x=\"{Left + ((g + 0.5) * group):0.#}\" y=\"{Top + PlotHeight + 18}\" text-anchor=\"middle\">{E(labels[g])}</text>"));
            for (var i = 0; i < chart.Series.Count; i++)
            {
                var p = chart.Series[i].Points.FirstOrDefault(q => q.Label == labels[g]);
                if (p is null || p.Value.Count == 0)
                {
                    continue;
                }

                var x = Left + (g * group) + (group * 0.1) + (i * bar);
                var top = y(p.Value.Median);
                var bottom = Math.Min(baseline, Top + PlotHeight);
                svg.Append(F($"<rect x=\"{x:0.#}\" y=\"{Math.Min(top, bottom):0.#}\" width=\"{bar * 0.9:0.#}\" height=\"{Math.Abs(bottom - top):0.#}\" fill=\"{Colour(i)}\" fill-opacity=\"0.8\"><title>{E(Tip(chart.Series[i].Name, p))}</title></rect>"));
                ErrorBar(svg, x + (bar * 0.45), y, p, "#222", chart.Series[i].Name);
            }
        }
    }

    private static void ErrorBar(StringBuilder svg, double x, Func<double, double> y, ChartPoint p, string colour, string series)
    {
        if (p.Value.Low == p.Value.High)
        {
            return;
        }

        double lo = y(p.Value.Low), hi = y(p.Value.High);
        svg.Append(F($"<g stroke=\"{colour}\" stroke-width=\"1.2\"><title>{E(Tip(series, p))}</title><line x1=\"{x:0.#}\" y1=\"{lo:0.#}\" x2=\"{x:0.#}\" y2=\"{hi:0.#}\"/>"))
            .Append(F($"<line x1=\"{x - 4:0.#}\" y1=\"{lo:0.#}\" x2=\"{x + 4:0.#}\" y2=\"{lo:0.#}\"/><line x1=\"{x - 4:0.#}\" y1=\"{hi:0.#}\" x2=\"{x + 4:0.#}\" y2=\"{hi:0.#}\"/></g>"));
    }

    private static void YAxis(StringBuilder svg, ChartSpec chart, double min, double max, Func<double, double> y)
    {
        svg.Append(F($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + PlotHeight}\" stroke=\"#444\"/>"))
            .Append(F($"<line x1=\"{Left}\" y1=\"{Top + PlotHeight}\" x2=\"{Left + PlotWidth}\" y2=\"{Top + PlotHeight}\" stroke=\"#444\"/>"));
        var ticks = chart.LogY
            ? Enumerable.Range((int)Math.Floor(Math.Log10(min)), (int)Math.Ceiling(Math.Log10(max)) - (int)Math.Floor(Math.Log10(min)) + 1).Select(e => Math.Pow(10, e))
            : Enumerable.Range(0, 6).Select(i => min + ((max - min) * i / 5));
        foreach (var t in ticks.Where(t => t >= min * 0.999 && t <= max * 1.001))
        {
            var ty = y(t);
            svg.Append(F($"<line x1=\"{Left}\" y1=\"{ty:0.#}\" x2=\"{Left + PlotWidth}\" y2=\"{ty:0.#}\" stroke=\"#ddd\"/>"))
                .Append(F($"<text x=\"{Left - 6}\" y=\"{ty + 4:0.#}\" text-anchor=\"end\">{E(Number(t))}</text>"));
        }
    }

    private static (double Min, double Max) YRange(ChartSpec chart, List<ChartPoint> points)
    {
        var high = points.Max(p => Math.Max(p.Value.High, p.Value.Median));
        if (chart.LogY)
        {
            var low = points.Select(p => Math.Min(p.Value.Low, p.Value.Median)).Where(v => v > 0).DefaultIfEmpty(1).Min();
            return (Math.Pow(10, Math.Floor(Math.Log10(low))), Math.Pow(10, Math.Ceiling(Math.Log10(Math.Max(high, low * 10)))));
        }

        var min = Math.Min(0, points.Min(p => Math.Min(p.Value.Low, p.Value.Median)));
        return (min, NiceCeiling(high <= min ? min + 1 : high));
    }

    private static double Scale(double v, double min, double max, bool log)
    {
        if (log)
        {
            v = Math.Max(v, min);
            return max > min ? (Math.Log(v) - Math.Log(min)) / (Math.Log(max) - Math.Log(min)) : 0.5;
        }

        return max > min ? (v - min) / (max - min) : 0.5;
    }

    private static double NiceCeiling(double v)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (var step in new[] { 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 })
        {
            if (step * magnitude >= v)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Tip(string series, ChartPoint p) => $"{series}, {p.Label}: {p.Value.Format("0.###")}";

    private static string Number(double v) => Math.Abs(v) >= 10_000 ? v.ToString("0.##e0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Colour(int i) => Colours[i % Colours.Length];

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
