using System.Globalization;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// The size and duration notations of scenario files (<c>512MiB</c>, <c>1.5s</c>), shared by the loader and by
/// command-line overrides so both accept the same text and print the same way.
/// </summary>
public static class ScenarioUnits
{
    /// <summary>The guest and host page size in bytes; memory sizes and offsets are multiples of it.</summary>
    public const long PageSize = 4096;

    /// <summary>The size units a scenario accepts, smallest first (binary multiples only).</summary>
    public static IReadOnlyList<string> SizeUnits { get; } = ["B", "KiB", "MiB", "GiB", "TiB"];

    /// <summary>The duration units a scenario accepts, smallest first.</summary>
    public static IReadOnlyList<string> DurationUnits { get; } = ["us", "ms", "s", "m", "h"];

    private static readonly long[] SizeMultipliers = [1, 1L << 10, 1L << 20, 1L << 30, 1L << 40];

    private static readonly TimeSpan[] DurationMultipliers =
        [TimeSpan.FromMicroseconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];

    /// <summary>
    /// Parses a size: integer bytes (<c>4096</c>) or a number and a binary unit (<c>512MiB</c>, <c>1.5 GiB</c>).
    /// Decimal units (<c>KB</c>, <c>MB</c>, <c>GB</c>) are refused with a hint, because their meaning is ambiguous.
    /// </summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="bytes">The size in bytes when the text is valid; may be negative (the caller judges the range).</param>
    /// <param name="problem">Why the text is not a size, when it is not (a sentence fragment for an error message).</param>
    public static bool TryParseSize(string text, out long bytes, out string? problem)
    {
        bytes = 0;
        var (number, unit) = SplitNumberAndUnit(text.Trim());
        if (number.Length == 0 || !decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture, out var value))
        {
            problem = "not a number followed by an optional unit";
            return false;
        }

        var multiplier = 1L;
        if (unit.Length > 0)
        {
            var index = IndexOf(SizeUnits, unit);
            if (index < 0)
            {
                problem = DecimalUnitHint(unit) ?? $"unknown unit \"{unit}\" (use {string.Join(", ", SizeUnits)})";
                return false;
            }

            multiplier = SizeMultipliers[index];
        }

        decimal scaled;
        try
        {
            scaled = value * multiplier;
        }
        catch (OverflowException)
        {
            problem = "too large";
            return false;
        }

        if (scaled != decimal.Truncate(scaled))
        {
            problem = "not a whole number of bytes";
            return false;
        }

        if (scaled > long.MaxValue || scaled < long.MinValue)
        {
            problem = "too large";
            return false;
        }

        bytes = (long)scaled;
        problem = null;
        return true;
    }

    /// <summary>Parses a duration: a number and one of the units <c>us</c>, <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> (<c>32us</c>, <c>500ms</c>, <c>1.5s</c>).</summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="duration">The duration when the text is valid; may be negative (the caller judges the range).</param>
    /// <param name="problem">Why the text is not a duration, when it is not.</param>
    public static bool TryParseDuration(string text, out TimeSpan duration, out string? problem)
    {
        duration = TimeSpan.Zero;
        var (number, unit) = SplitNumberAndUnit(text.Trim());
        if (number.Length == 0 || !decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture, out var value))
        {
            problem = "not a number followed by a unit";
            return false;
        }

        if (unit.Length == 0)
        {
            problem = $"a unit is required ({string.Join(", ", DurationUnits)})";
            return false;
        }

        var index = IndexOf(DurationUnits, unit);
        if (index < 0)
        {
            problem = $"unknown unit \"{unit}\" (use {string.Join(", ", DurationUnits)})";
            return false;
        }

        decimal ticks;
        try
        {
            ticks = value * DurationMultipliers[index].Ticks;
        }
        catch (OverflowException)
        {
            problem = "too large";
            return false;
        }

        if (ticks > TimeSpan.MaxValue.Ticks || ticks < TimeSpan.MinValue.Ticks)
        {
            problem = "too large";
            return false;
        }

        duration = TimeSpan.FromTicks((long)decimal.Round(ticks));
        problem = null;
        return true;
    }

    /// <summary>Formats bytes in the largest binary unit that divides them exactly (<c>3GiB</c>, <c>1536MiB</c>, <c>4097B</c>).</summary>
    public static string FormatSize(long bytes)
    {
        for (var i = SizeMultipliers.Length - 1; i > 0; i--)
        {
            if (bytes != 0 && bytes % SizeMultipliers[i] == 0)
            {
                return (bytes / SizeMultipliers[i]).ToString(CultureInfo.InvariantCulture) + SizeUnits[i];
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }

    /// <summary>Formats a duration in the largest unit that divides it exactly (<c>2s</c>, <c>1500ms</c>, <c>32us</c>).</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        for (var i = DurationMultipliers.Length - 1; i >= 0; i--)
        {
            if (duration != TimeSpan.Zero && duration.Ticks % DurationMultipliers[i].Ticks == 0)
            {
                return (duration.Ticks / DurationMultipliers[i].Ticks).ToString(CultureInfo.InvariantCulture) + DurationUnits[i];
            }
        }

        return duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    private static (string Number, string Unit) SplitNumberAndUnit(string text)
    {
        var end = 0;
        while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] is '.' or '-' or '+'))
        {
            end++;
        }

        return (text[..end], text[end..].TrimStart());
    }

    private static string? DecimalUnitHint(string unit)
    {
        var binary = unit.ToUpperInvariant() switch
        {
            "K" or "KB" or "KIB" => "KiB",
            "M" or "MB" or "MIB" => "MiB",
            "G" or "GB" or "GIB" => "GiB",
            "T" or "TB" or "TIB" => "TiB",
            _ => null,
        };
        return binary is null ? null : $"unit \"{unit}\" is ambiguous or misspelt; write {binary} (powers of 1024)";
    }

    private static int IndexOf(IReadOnlyList<string> units, string unit)
    {
        for (var i = 0; i < units.Count; i++)
        {
            if (string.Equals(units[i], unit, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
