using System.Globalization;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>Formats table cells: for people (thousands separators, a few decimals, percentages) or raw for machines.</summary>
internal static class CellText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Human(object? cell) => cell switch
    {
        null => "-",
        string s => s,
        bool b => b ? "yes" : "no",
        int i => i.ToString("N0", Invariant),
        long l => l.ToString("N0", Invariant),
        double d => HumanDouble(d),
        Share s => (s.Value * 100).ToString(Math.Abs(s.Value) < 0.001 && s.Value != 0 ? "0.###" : "0.0", Invariant) + "%",
        DateTimeOffset t => t.ToString("yyyy-MM-dd HH:mm:ss.fff zzz", Invariant),
        _ => Convert.ToString(cell, Invariant) ?? string.Empty,
    };

    public static string Raw(object? cell) => cell switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        int i => i.ToString(Invariant),
        long l => l.ToString(Invariant),
        double d => d.ToString("R", Invariant),
        Share s => s.Value.ToString("R", Invariant),
        DateTimeOffset t => t.ToString("O", Invariant),
        _ => Convert.ToString(cell, Invariant) ?? string.Empty,
    };

    private static string HumanDouble(double d)
    {
        var magnitude = Math.Abs(d);
        return d.ToString(magnitude >= 1000 ? "N0" : magnitude >= 10 ? "0.0" : magnitude >= 0.01 || d == 0 ? "0.###" : "0.#####", Invariant);
    }
}
