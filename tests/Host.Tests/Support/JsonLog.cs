using System.Text.Json;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Support;

/// <summary>One line of the JSON log: the event id, name and properties (Serilog's JsonFormatter layout).</summary>
internal sealed record LogLine(string File, int LineNumber, int? Id, string? Name, string? SourceContext, JsonElement Properties)
{
    public string RunId => Properties.GetProperty(nameof(RunId)).GetString()!;

    public long Long(string property) => Properties.GetProperty(property).GetInt64();

    public string String(string property) => Properties.GetProperty(property).GetString()!;

    /// <summary>Whether the event is one of the catalogue's (not a framework's: those reuse small ids).</summary>
    public bool IsHypervisor => SourceContext?.StartsWith("Hypervisor.", StringComparison.Ordinal) == true;
}

/// <summary>Reads every log file of a directory, asserting that each line is one JSON object.</summary>
internal static class JsonLog
{
    public static List<LogLine> Read(string directory)
    {
        var files = Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal).ToList();
        Assert.That(files, Is.Not.Empty, $"a JSON log file in {directory}");
        var lines = new List<LogLine>();
        foreach (var file in files)
        {
            var number = 0;
            foreach (var text in File.ReadLines(file))
            {
                number++;
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(text);
                }
                catch (JsonException e)
                {
                    Assert.Fail($"{file}:{number} is not one JSON object ({e.Message}): {text[..Math.Min(200, text.Length)]}");
                    throw;
                }

                var root = document.RootElement;
                var properties = root.GetProperty("Properties");
                int? id = null;
                string? name = null;
                if (properties.TryGetProperty("EventId", out var eventId))
                {
                    id = eventId.TryGetProperty("Id", out var i) ? i.GetInt32() : null;
                    name = eventId.TryGetProperty("Name", out var n) ? n.GetString() : null;
                }

                var source = properties.TryGetProperty("SourceContext", out var s) ? s.GetString() : null;
                lines.Add(new LogLine(file, number, id, name, source, properties.Clone()));
            }
        }

        return lines;
    }
}
