using System.Text.Json;
using System.Text.Json.Serialization;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>The report model as indented camelCase JSON; dictionary keys (event kinds, reasons) are kept as logged.</summary>
internal static class JsonRenderer
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize(AnalysisReport report) => JsonSerializer.Serialize(report, Options);

    public static AnalysisReport? Deserialize(string json) => JsonSerializer.Deserialize<AnalysisReport>(json, Options);
}
