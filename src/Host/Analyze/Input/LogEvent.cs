using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>
/// One recognised log line: its kind, timestamp and properties (the <c>Properties</c> object of the old layout, the
/// line itself in the compact one), read leniently. A view over a
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

    /// <summary>The properties' object, for readers that take every field in one pass (compact lines: the <c>@</c> fields too).</summary>
    public JsonElement Properties => _properties;

    /// <summary>The <c>Timestamp</c> (or compact <c>@t</c>) field, or null when absent or unreadable.</summary>
    public DateTimeOffset? Timestamp { get; }

    /// <summary>
    /// Parses one line, in either layout the daemon has written: the compact one (CLEF: <c>@t</c>, the catalogue id as
    /// <c>@i</c> or an <c>EventId</c> property, properties at the top level) or Serilog's <c>JsonFormatter</c> one
    /// (<c>Timestamp</c>, properties under <c>Properties</c>). Returns the problem found when the line is not one of our
    /// events, or null when <paramref name="logEvent"/> was read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ProblemKind? TryRead(JsonElement root, out LogEvent logEvent)
    {
        logEvent = default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return ProblemKind.NoEventId;
        }

        JsonElement properties;
        LogEventKind kind;
        JsonElement time;
        if (root.TryGetProperty("Properties"u8, out properties))
        {
            // JsonFormatter: {"Timestamp":...,"Level":...,"MessageTemplate":...,"Properties":{...,"EventId":{...}}}
            if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty("EventId"u8, out var eventId))
            {
                return ProblemKind.NoEventId;
            }

            kind = EventCatalog.Identify(eventId, out _);
            root.TryGetProperty("Timestamp"u8, out time);
        }
        else
        {
            // Compact: {"@t":...,"@l":...,"@i":3,"RunId":...}. A string @i is another writer's template hash, not an id.
            properties = root;
            if (root.TryGetProperty("@i"u8, out var id) && id.ValueKind == JsonValueKind.Number)
            {
                kind = EventCatalog.Identify(id, out _);
            }
            else if (root.TryGetProperty("EventId"u8, out var eventId))
            {
                kind = EventCatalog.Identify(eventId, out _);
            }
            else
            {
                return ProblemKind.NoEventId;
            }

            root.TryGetProperty("@t"u8, out time);
        }

        if (kind == LogEventKind.Unknown)
        {
            return ProblemKind.UnknownEvent;
        }

        DateTimeOffset? timestamp = time.ValueKind == JsonValueKind.String && time.TryGetDateTimeOffset(out var parsed) ? parsed : null;
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
