using System.Text.Json;
using System.Text.Json.Serialization;
using Hypervisor.GuestModel.Summary;

namespace Hypervisor.Host.Cli;

/// <summary>The summary JSON format: camelCase, indented.</summary>
internal static class SummaryJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize(RunSummary summary) => JsonSerializer.Serialize(summary, Options);

    public static RunSummary? Deserialize(string json) => JsonSerializer.Deserialize<RunSummary>(json, Options);

    /// <summary>Writes to a temporary file and renames it, so a reader never sees half a summary.</summary>
    public static void WriteFile(string path, RunSummary summary)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllText(temp, Serialize(summary));
        File.Move(temp, full, overwrite: true);
    }
}
