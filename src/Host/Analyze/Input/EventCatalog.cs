using System.Text.Json;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>Recognises an event by its <c>EventId</c> property: <c>{"Id":3,"Name":"Invalidation"}</c>.</summary>
internal static class EventCatalog
{
    private const int Highest = (int)LogEventKind.UnhandledError;

    /// <summary>
    /// The kind of an event. A known id whose name disagrees with the catalogue is unknown (a foreign application's
    /// event ids would otherwise be read as ours); an id alone or a name alone is enough.
    /// </summary>
    public static LogEventKind Identify(JsonElement eventId, out string? name)
    {
        name = null;
        long? id = null;
        if (eventId.ValueKind == JsonValueKind.Object)
        {
            if (eventId.TryGetProperty("Id"u8, out var idElement) && JsonValues.TryGetInt64(idElement, out var parsed))
            {
                id = parsed;
            }

            if (eventId.TryGetProperty("Name"u8, out var nameElement) && nameElement.ValueKind == JsonValueKind.String)
            {
                name = nameElement.GetString();
            }
        }
        else if (JsonValues.TryGetInt64(eventId, out var bare))
        {
            id = bare;
        }

        if (id is { } known)
        {
            if (known is < 1 or > Highest)
            {
                return LogEventKind.Unknown;
            }

            var kind = (LogEventKind)known;
            return name is null || string.Equals(name, kind.ToString(), StringComparison.Ordinal) ? kind : LogEventKind.Unknown;
        }

        return name is not null && Enum.TryParse<LogEventKind>(name, ignoreCase: false, out var byName)
            && byName != LogEventKind.Unknown && !int.TryParse(name, out _)
            ? byName
            : LogEventKind.Unknown;
    }
}
