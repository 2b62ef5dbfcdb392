using System.Globalization;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Json;

namespace Hypervisor.Host.Logging;

/// <summary>
/// The JSON log's line format: Serilog's compact event format (CLEF, as <c>CompactJsonFormatter</c> of
/// Serilog.Formatting.Compact writes it: <c>@t</c> UTC timestamp, <c>@l</c> level unless Information, <c>@x</c>
/// exception, properties at the top level, a leading <c>@</c> doubled) with one change that keeps the hot event small:
/// an event of the catalogue (<see cref="LogEventIds"/>, source context <c>Hypervisor.*</c>) carries its id as CLEF's
/// event type <c>@i</c> and neither its message template, nor <c>EventId</c>, nor <c>SourceContext</c>: the id names
/// the template, the property names and the source. Any other event (a framework warning) keeps its <c>@mt</c>,
/// <c>EventId</c> and <c>SourceContext</c>, so nothing outside the catalogue is ever read as one of ours.
/// </summary>
/// <remarks>
/// Written here rather than taken from <c>CompactJsonFormatter</c>: that one always writes the template, which is
/// two thirds of an <c>Invalidation</c> line. Property values go through Serilog's own <see cref="JsonValueFormatter"/>.
/// </remarks>
internal sealed class CompactLogFormatter : ITextFormatter
{
    /// <summary>The source contexts whose events belong to the catalogue.</summary>
    public const string CatalogueSourcePrefix = "Hypervisor.";

    // The catalogue's ids run from 1 to its last entry (LogEventIds: ids are never reused or renumbered).
    private const int HighestId = LogEventIds.UnhandledError;
    private const string EventIdProperty = "EventId";
    private const string SourceContextProperty = "SourceContext";

    private readonly JsonValueFormatter _values = new(typeTagName: "$type");

    /// <inheritdoc/>
    public void Format(LogEvent logEvent, TextWriter output)
    {
        Span<char> timestamp = stackalloc char[40];
        logEvent.Timestamp.UtcDateTime.TryFormat(timestamp, out var length, "O", CultureInfo.InvariantCulture);
        output.Write("{\"@t\":\"");
        output.Write(timestamp[..length]);
        output.Write('"');
        if (logEvent.Level != LogEventLevel.Information)
        {
            output.Write(",\"@l\":\"");
            output.Write(LevelName(logEvent.Level));
            output.Write('"');
        }

        var catalogueId = CatalogueId(logEvent);
        if (catalogueId is { } id)
        {
            output.Write(",\"@i\":");
            output.Write(id.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            output.Write(",\"@mt\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.MessageTemplate.Text, output);
        }

        if (logEvent.Exception is { } exception)
        {
            output.Write(",\"@x\":");
            JsonValueFormatter.WriteQuotedJsonString(exception.ToString(), output);
        }

        if (logEvent.TraceId is { } traceId)
        {
            output.Write(",\"@tr\":\"");
            output.Write(traceId.ToHexString());
            output.Write('"');
        }

        if (logEvent.SpanId is { } spanId)
        {
            output.Write(",\"@sp\":\"");
            output.Write(spanId.ToHexString());
            output.Write('"');
        }

        foreach (var (name, value) in logEvent.Properties)
        {
            if (catalogueId is not null && (name == EventIdProperty || name == SourceContextProperty))
            {
                continue;
            }

            output.Write(',');

            // CLEF: a property name that starts with @ is escaped by doubling it.
            JsonValueFormatter.WriteQuotedJsonString(name.StartsWith('@') ? "@" + name : name, output);
            output.Write(':');
            _values.Format(value, output);
        }

        output.Write('}');
        output.Write('\n');
    }

    /// <summary>The catalogue id of <paramref name="logEvent"/>, or null when it is not one of ours.</summary>
    public static int? CatalogueId(LogEvent logEvent)
    {
        if (logEvent.Properties.TryGetValue(SourceContextProperty, out var source)
            && source is ScalarValue { Value: string context }
            && context.StartsWith(CatalogueSourcePrefix, StringComparison.Ordinal)
            && logEvent.Properties.TryGetValue(EventIdProperty, out var eventId)
            && eventId is StructureValue structure)
        {
            foreach (var property in structure.Properties)
            {
                if (property.Name == "Id" && property.Value is ScalarValue { Value: int id } && id is >= 1 and <= HighestId)
                {
                    return id;
                }
            }
        }

        return null;
    }

    private static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "Verbose",
        LogEventLevel.Debug => "Debug",
        LogEventLevel.Warning => "Warning",
        LogEventLevel.Error => "Error",
        LogEventLevel.Fatal => "Fatal",
        _ => level.ToString(),
    };
}
