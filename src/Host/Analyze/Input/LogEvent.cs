using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>
/// One recognised log line: its kind, timestamp and <c>Properties</c> object, read leniently. A view over a
/// <see cref="JsonDocument"/> that lives only while its line is being analysed.
/// </summary>
internal readonly struct LogEvent
{
    private readonly JsonElement _properties;

    public LogEvent(LogEventKind kind, DateTimeOffset? timestamp, JsonElement properties)
    {
        Kind = kind;
        Timestamp = timestamp;
        _properties = properties;
    }

    public LogEventKind Kind { get; }

    /// <summary>The <c>Properties</c> object, for readers that take every field in one pass.</summary>
    public JsonElement Properties => _properties;

    /// <summary>The <c>Timestamp</c> field, or null when absent or unreadable.</summary>
    public DateTimeOffset? Timestamp { get; }

    /// <summary>
    /// Parses one line. Returns the problem found when the line is not one of our events, or null when
    /// <paramref name="logEvent"/> was read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ProblemKind? TryRead(JsonElement root, out LogEvent logEvent)
    {
        logEvent = default;
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("Properties"u8, out var properties) || properties.ValueKind != JsonValueKind.Object
            || !properties.TryGetProperty("EventId"u8, out var eventId))
        {
            return ProblemKind.NoEventId;
        }

        var kind = EventCatalog.Identify(eventId, out _);
        if (kind == LogEventKind.Unknown)
        {
            return ProblemKind.UnknownEvent;
        }

        DateTimeOffset? timestamp = root.TryGetProperty("Timestamp"u8, out var t) && t.ValueKind == JsonValueKind.String
            && t.TryGetDateTimeOffset(out var parsed) ? parsed : null;
        logEvent = new LogEvent(kind, timestamp, properties);
        return null;
    }

    // Property names are UTF-8 literals ("Pages"u8): looked up without transcoding, on every line.
    public bool Has(ReadOnlySpan<byte> name) => _properties.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public string? Text(ReadOnlySpan<byte> name) => _properties.TryGetProperty(name, out var value) ? JsonValues.GetText(value) : null;

    public long Int64(ReadOnlySpan<byte> name) =>
        _properties.TryGetProperty(name, out var value) && JsonValues.TryGetInt64(value, out var result) ? result : 0;

    public double Double(ReadOnlySpan<byte> name) =>
        _properties.TryGetProperty(name, out var value) && JsonValues.TryGetDouble(value, out var result) ? result : 0;

    public double? OptionalDouble(ReadOnlySpan<byte> name) =>
        _properties.TryGetProperty(name, out var value) && JsonValues.TryGetDouble(value, out var result) ? result : null;

    public bool Boolean(ReadOnlySpan<byte> name) =>
        _properties.TryGetProperty(name, out var value) && JsonValues.TryGetBoolean(value, out var result) && result;

    public ulong Address(ReadOnlySpan<byte> name) =>
        _properties.TryGetProperty(name, out var value) && JsonValues.TryGetAddress(value, out var result) ? result : 0;

    /// <summary>A nested property (an object or array), or an undefined element.</summary>
    public JsonElement Element(ReadOnlySpan<byte> name) => _properties.TryGetProperty(name, out var value) ? value : default;
}
