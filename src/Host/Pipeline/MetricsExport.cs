using Hypervisor.Host.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// Exports the <see cref="HypervisorMetrics.MeterName"/> meter through OpenTelemetry on the generic host, as the
/// <c>Metrics</c> settings say: OTLP push, a Prometheus scrape endpoint bound to 127.0.0.1, both, or (the default)
/// nothing at all, not even a meter provider.
/// </summary>
internal static class MetricsExport
{
    /// <summary>The service name the exported metrics carry.</summary>
    public const string ServiceName = "hypervisor";

    /// <summary>Binds and checks the <c>Metrics</c> section; throws <see cref="BadInputException"/> on a bad setting.</summary>
    public static MetricsOptions Bind(IConfigurationRoot configuration) =>
        SettingsBinder.Bind(configuration, MetricsOptions.Section, new MetricsOptionsValidator());

    /// <summary>Registers the exporters <paramref name="options"/> asks for; nothing when it asks for none.</summary>
    public static void Add(IServiceCollection services, MetricsOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(HypervisorMetrics.MeterName);
                if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = new Uri(options.OtlpEndpoint);
                        exporter.Protocol = options.OtlpProtocol;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.ExportInterval.TotalMilliseconds;
                    });
                }

                if (options.PrometheusPort is { } port)
                {
                    // Loopback only: the listener never binds another address (a proxy can publish it).
                    metrics.AddPrometheusHttpListener(listener =>
                    {
                        listener.Host = "127.0.0.1";
                        listener.Port = port;
                    });
                }
            });
    }
}
