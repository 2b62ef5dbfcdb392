using System.Globalization;
using System.Text.Json;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>
/// Lenient readers for Serilog-rendered property values: a number may arrive as a JSON number or a string (an
/// address as <c>"0x7f00..."</c>), a boolean as <c>true</c> or <c>"True"</c>, an object with a <c>_typeTag</c>.
/// </summary>
internal static class JsonValues
{
    /// <summary>The property Serilog's <c>JsonFormatter</c> adds to destructured objects; never data.</summary>
    public const string TypeTag = "_typeTag";

    /// <summary>The same in the compact format.</summary>
    public const string CompactTypeTag = "$type";

    public static bool TryGetInt64(JsonElement element, out long value)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                if (element.TryGetInt64(out value))
                {
                    return true;
                }

                var d = element.GetDouble();
                value = (long)d;
                return !double.IsNaN(d);
            case JsonValueKind.String:
                var text = element.GetString();
                if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
                {
                    return true;
                }

                if (TryParseHex(text, out var hex))
                {
                    value = unchecked((long)hex);
                    return true;
                }

                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fromText))
                {
                    value = (long)fromText;
                    return true;
                }

                break;
        }

        value = 0;
        return false;
    }

    public static bool TryGetDouble(JsonElement element, out double value)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                value = element.GetDouble();
                return true;
            case JsonValueKind.String:
                if (double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                {
                    return true;
                }

                break;
        }

        value = 0;
        return false;
    }

    /// <summary>An address: <c>"0x1000"</c>, <c>"1000"</c> read as hex only when it has the prefix, or a JSON number.</summary>
    public static bool TryGetAddress(JsonElement element, out ulong value)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.TryGetUInt64(out value);
            case JsonValueKind.String:
                var text = element.GetString();
                if (TryParseHex(text, out value))
                {
                    return true;
                }

                return ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
        }

        value = 0;
        return false;
    }

    public static bool TryGetBoolean(JsonElement element, out bool value)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                value = true;
                return true;
            case JsonValueKind.False:
                value = false;
                return true;
            case JsonValueKind.String:
                return bool.TryParse(element.GetString(), out value);
            case JsonValueKind.Number:
                value = element.GetDouble() != 0;
                return true;
        }

        value = false;
        return false;
    }

    /// <summary>A string property; numbers and booleans are returned as their JSON text, null and objects as null.</summary>
    public static string? GetText(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => null,
    };

    /// <summary>The members of an object other than <see cref="TypeTag"/> and <see cref="CompactTypeTag"/>.</summary>
    public static IEnumerable<JsonProperty> Members(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
            ? element.EnumerateObject().Where(p => !p.NameEquals(TypeTag) && !p.NameEquals(CompactTypeTag))
            : [];

    private static bool TryParseHex(string? text, out ulong value)
    {
        if (text is { Length: > 2 } && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        value = 0;
        return false;
    }
}
