using System.Text.Json;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Support;

/// <summary>
/// One line of the JSON log (the compact layout): the event id, name and properties. A catalogue event carries its id as
/// <c>@i</c> (its name is the contract's); any other event keeps <c>EventId</c> and <c>SourceContext</c>.
/// </summary>
internal sealed record LogLine(string File, int LineNumber, int? Id, string? Name, string? SourceContext, JsonElement Properties)
{
    public string RunId => Properties.GetProperty(nameof(RunId)).GetString()!;

    public long Long(string property) => Properties.GetProperty(property).GetInt64();

    public string String(string property) => Properties.GetProperty(property).GetString()!;

    /// <summary>Whether the event is one of the catalogue's (not a framework's: those reuse small ids).</summary>
    public bool IsHypervisor { get; init; }
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
                Assert.That(root.TryGetProperty("@t", out _), Is.True, $"{file}:{number} has a compact timestamp: {text[..Math.Min(200, text.Length)]}");
                int? id = null;
                string? name = null;
                var catalogue = root.TryGetProperty("@i", out var i) && i.ValueKind == JsonValueKind.Number;
                if (catalogue)
                {
                    id = i.GetInt32();
                    name = LogContract.Events.TryGetValue(id.Value, out var entry) ? entry.Name : null;
                }
                else if (root.TryGetProperty("EventId", out var eventId))
                {
                    id = eventId.TryGetProperty("Id", out var idElement) ? idElement.GetInt32() : null;
                    name = eventId.TryGetProperty("Name", out var n) ? n.GetString() : null;
                }

                var source = root.TryGetProperty("SourceContext", out var s) ? s.GetString() : null;
                lines.Add(new LogLine(file, number, id, name, source, root.Clone()) { IsHypervisor = catalogue });
            }
        }

        return lines;
    }
}
