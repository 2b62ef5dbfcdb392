using OpenTelemetry.Exporter;

namespace Hypervisor.Host.Configuration;

/// <summary>
/// The <c>Metrics</c> section of the settings: exporting the <c>Hypervisor</c> meter through OpenTelemetry, to an OTLP
/// collector and/or as a Prometheus scrape endpoint on 127.0.0.1. Both are off unless set.
/// </summary>
internal sealed class MetricsOptions
{
    /// <summary>The settings section these options bind to.</summary>
    public const string Section = "Metrics";

    /// <summary>
    /// Where to push metrics over OTLP, as the exporter takes it: the full URL for <c>HttpProtobuf</c>
    /// (<c>http://127.0.0.1:4318/v1/metrics</c>), the collector's address for <c>Grpc</c> (<c>http://127.0.0.1:4317</c>).
    /// Empty: no OTLP export.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP transport.</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.HttpProtobuf;

    /// <summary>How often metrics are pushed over OTLP.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Port of the Prometheus scrape endpoint, <c>http://127.0.0.1:PORT/metrics</c> (loopback only: put a proxy in
    /// front of it to expose it). Null: no endpoint.
    /// </summary>
    public int? PrometheusPort { get; set; }

    /// <summary>Whether anything is exported.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(OtlpEndpoint) || PrometheusPort is not null;
}
