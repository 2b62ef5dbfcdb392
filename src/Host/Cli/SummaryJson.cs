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

    /// <summary>Writes the summary as <paramref name="option"/> through <see cref="OutputFile"/> (never over an input).</summary>
    public static void WriteFile(string option, string path, RunSummary summary, IEnumerable<string> inputs) =>
        OutputFile.Write(option, path, inputs, writer => writer.Write(Serialize(summary)));
}
