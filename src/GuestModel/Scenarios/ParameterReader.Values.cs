using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Typed values: each reads one key, checks it, reports "expected ..., got ..." and falls back to a default.</summary>
public sealed partial class ParameterReader
{
    private const string SizeExpectation = "a size (bytes, or a number with B, KiB, MiB, GiB or TiB)";

    /// <summary>A size in bytes, or <paramref name="defaultValue"/> when absent or invalid.</summary>
    public long Size(string key, long defaultValue, SizeRules rules = SizeRules.None, long max = long.MaxValue) =>
        OptionalSize(key, rules, max) ?? defaultValue;

    /// <summary>A size in bytes; reports a missing field and returns 0 when absent.</summary>
    public long RequiredSize(string key, SizeRules rules = SizeRules.None, long max = long.MaxValue) =>
        Required(key, OptionalSize(key, rules, max)) ?? 0;

    /// <summary>A size in bytes, or <see langword="null"/> when absent, invalid or above <paramref name="max"/>.</summary>
    public long? OptionalSize(string key, SizeRules rules = SizeRules.None, long max = long.MaxValue)
    {
        if (Scalar(key, SizeExpectation) is not { } text)
        {
            return null;
        }

        if (!ScenarioUnits.TryParseSize(text, out var bytes, out var problem))
        {
            Error(key, $"expected {SizeExpectation}, got {Got(key)}: {problem}");
            return null;
        }

        var positive = (rules & SizeRules.Positive) != 0;
        if (bytes < 0 || (positive && bytes == 0))
        {
            Error(key, $"expected a size {(positive ? "> 0" : ">= 0")}, got {Got(key)}");
            return null;
        }

        if ((rules & SizeRules.PageAligned) != 0 && bytes % ScenarioUnits.PageSize != 0)
        {
            Error(key, $"expected a multiple of {ScenarioUnits.FormatSize(ScenarioUnits.PageSize)} (the page size), got {Got(key)}");
            return null;
        }

        if (bytes > max)
        {
            Error(key, $"expected a size of at most {ScenarioUnits.FormatSize(max)}, got {Got(key)}");
            return null;
        }

        return bytes;
    }

    /// <summary>A duration (<c>500ms</c>, <c>2s</c>), or <paramref name="defaultValue"/> when absent or invalid; never negative.</summary>
    public TimeSpan Duration(string key, TimeSpan defaultValue, bool positive = false) => OptionalDuration(key, positive) ?? defaultValue;

    /// <summary>
    /// A duration or a range of durations written <c>low-high</c> (<c>0-32us</c>, <c>10ms-12ms</c>): the low end and
    /// the width of the range (zero for a plain duration); <paramref name="defaultValue"/> and no width when absent or
    /// invalid. A bare high end takes the low end's unit from its own (<c>0-32us</c> is 0 to 32 µs).
    /// </summary>
    public (TimeSpan Low, TimeSpan Width) DurationRange(string key, TimeSpan defaultValue)
    {
        const string expectation = "a duration or a range low-high of durations (0-32us, 10ms-12ms)";
        var text = Value(key) is YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } scalar } ? scalar.Trim() : null;
        var dash = text?.IndexOf('-', 1) ?? -1;
        if (text is null || dash < 0)
        {
            return (Duration(key, defaultValue), TimeSpan.Zero);
        }

        var (lowText, highText) = (text[..dash].Trim(), text[(dash + 1)..].Trim());
        if (lowText.Length > 0 && lowText.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            lowText += new string([.. highText.SkipWhile(c => char.IsAsciiDigit(c) || c == '.' || c == ' ')]);
        }

        if (!ScenarioUnits.TryParseDuration(lowText, out var low, out var problem) || !ScenarioUnits.TryParseDuration(highText, out var high, out problem))
        {
            Error(key, $"expected {expectation}, got {Got(key)}: {problem}");
            return (defaultValue, TimeSpan.Zero);
        }

        if (low < TimeSpan.Zero || high < low || ScenarioLimits.CheckTimer(high) is not null)
        {
            Error(key, $"expected {expectation} with 0 <= low <= high <= {ScenarioUnits.FormatDuration(ScenarioLimits.MaxTimer)}, got {Got(key)}");
            return (defaultValue, TimeSpan.Zero);
        }

        return (low, high - low);
    }

    /// <summary>A duration, or <see langword="null"/> when absent or invalid; never negative, and &gt; 0 if <paramref name="positive"/>.</summary>
    public TimeSpan? OptionalDuration(string key, bool positive = false)
    {
        const string expectation = "a duration (a number with us, ms, s, m or h)";
        if (Scalar(key, expectation) is not { } text)
        {
            return null;
        }

        if (!ScenarioUnits.TryParseDuration(text, out var duration, out var problem))
        {
            Error(key, $"expected {expectation}, got {Got(key)}: {problem}");
            return null;
        }

        if (duration < TimeSpan.Zero || (positive && duration == TimeSpan.Zero))
        {
            Error(key, $"expected a duration {(positive ? "> 0" : ">= 0")}, got {Got(key)}");
            return null;
        }

        if (ScenarioLimits.CheckTimer(duration) is { } expected)
        {
            Error(key, $"expected {expected}, got {Got(key)}");
            return null;
        }

        return duration;
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="defaultValue"/>.</summary>
    public int Int(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue) =>
        (int?)OptionalLong(key, min, max) ?? defaultValue;

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; reports a missing field and returns <paramref name="min"/> when absent.</summary>
    public int RequiredInt(string key, int min = int.MinValue, int max = int.MaxValue) =>
        (int?)Required(key, OptionalLong(key, min, max)) ?? min;

    /// <summary>A 64-bit integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="defaultValue"/>.</summary>
    public long Long(string key, long defaultValue, long min = long.MinValue, long max = long.MaxValue) =>
        OptionalLong(key, min, max) ?? defaultValue;

    /// <summary>A 64-bit integer in [<paramref name="min"/>, <paramref name="max"/>]; reports a missing field when absent.</summary>
    public long RequiredLong(string key, long min = long.MinValue, long max = long.MaxValue) =>
        Required(key, OptionalLong(key, min, max)) ?? min;

    /// <summary>A 64-bit integer in [<paramref name="min"/>, <paramref name="max"/>], or <see langword="null"/> when absent or invalid.</summary>
    public long? OptionalLong(string key, long min = long.MinValue, long max = long.MaxValue)
    {
        var expectation = IntegerExpectation(min, max, null);
        if (Scalar(key, expectation) is not { } text)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"expected {expectation}, got {Got(key)}");
            return null;
        }

        if (value < min || value > max)
        {
            Error(key, $"expected {IntegerExpectation(min, max, value)}, got {Got(key)}");
            return null;
        }

        return value;
    }

    /// <summary>A non-negative 64-bit integer (a seed), or <paramref name="defaultValue"/>.</summary>
    public ulong UInt64(string key, ulong defaultValue)
    {
        const string expectation = "an integer >= 0";
        if (Scalar(key, expectation) is not { } text)
        {
            return defaultValue;
        }

        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"expected {expectation} and < 2^64, got {Got(key)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>
    /// A number in [<paramref name="min"/>, <paramref name="max"/>] (above <paramref name="min"/> if
    /// <paramref name="minExclusive"/>), or <paramref name="defaultValue"/> when absent or invalid.
    /// </summary>
    public double Double(string key, double defaultValue, double min = double.MinValue, double max = double.MaxValue, bool minExclusive = false)
    {
        var expectation = (min, max) switch
        {
            (double.MinValue, double.MaxValue) => "a number",
            (_, double.MaxValue) => $"a number {(minExclusive ? ">" : ">=")} {Format(min)}",
            _ => $"a number between {Format(min)}{(minExclusive ? " (excluded)" : string.Empty)} and {Format(max)}",
        };
        if (Scalar(key, expectation) is not { } text)
        {
            return defaultValue;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value)
            || value < min || value > max || (minExclusive && value == min))
        {
            Error(key, $"expected {expectation}, got {Got(key)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>A boolean (<c>true</c> or <c>false</c>), or <paramref name="defaultValue"/> when absent or invalid.</summary>
    public bool Bool(string key, bool defaultValue)
    {
        if (Scalar(key, "true or false") is not { } text)
        {
            return defaultValue;
        }

        if (!bool.TryParse(text, out var value))
        {
            Error(key, $"expected true or false, got {Got(key)}");
            return defaultValue;
        }

        return value;
    }

    /// <summary>
    /// An enum value written in kebab case (<c>AnonymousPrivate</c> is <c>anonymous-private</c>, <c>OnFailure</c> is
    /// <c>on-failure</c>), or <paramref name="defaultValue"/> when absent or invalid.
    /// </summary>
    public TEnum Enum<TEnum>(string key, TEnum defaultValue)
        where TEnum : struct, Enum
    {
        var names = KebabNames<TEnum>.All;
        var expectation = $"one of {string.Join(", ", names.Select(n => n.Name))}";
        if (Scalar(key, expectation) is not { } text)
        {
            return defaultValue;
        }

        foreach (var (name, value) in names)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                return value;
            }
        }

        Error(key, $"expected {expectation}, got {Got(key)}");
        return defaultValue;
    }

    /// <summary>A string, or <see langword="null"/> when absent or not a scalar.</summary>
    public string? OptionalString(string key) => Scalar(key, "a string");

    /// <summary>A name matching <c>[a-z0-9-]+</c>; reports a missing or malformed name and returns "" then.</summary>
    public string RequiredName(string key)
    {
        var name = Required(key, OptionalString(key));
        if (name is null)
        {
            return string.Empty;
        }

        if (!NamePattern().IsMatch(name))
        {
            Error(key, $"expected a name of lower-case letters, digits and '-' ([a-z0-9-]+), got {Got(key)}");
            return string.Empty;
        }

        return name;
    }

    [GeneratedRegex("^[a-z0-9-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    private T? Required<T>(string key, T? value)
        where T : struct
    {
        if (value is null && !Has(key))
        {
            Error(key, "missing required field");
        }

        return value;
    }

    private string? Required(string key, string? value)
    {
        if (value is null && !Has(key))
        {
            Error(key, "missing required field");
        }

        return value;
    }

    /// <summary>The scalar text of a key; <see langword="null"/> when absent, or when a list or mapping (reported).</summary>
    private string? Scalar(string key, string expectation)
    {
        var node = Value(key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                return scalar.Value ?? string.Empty;
            default:
                Error(key, $"expected {expectation}, got {Describe(node)}");
                return null;
        }
    }

    private string Got(string key) => _entries.TryGetValue(key, out var entry) ? Describe(entry.Value) : "nothing";

    private static string IntegerExpectation(long min, long max, long? value)
    {
        var lowOnly = max is long.MaxValue or int.MaxValue;
        var highOnly = min is long.MinValue or int.MinValue;
        return (lowOnly, highOnly) switch
        {
            (true, true) => "an integer",
            (true, false) => $"an integer >= {min}",
            (false, true) => $"an integer <= {max}",
            _ when value < min => $"an integer >= {min}",
            _ when value > max => $"an integer <= {max}",
            _ => $"an integer between {min} and {max}",
        };
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
