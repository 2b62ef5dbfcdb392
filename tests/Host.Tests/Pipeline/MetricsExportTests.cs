using System.Net;
using System.Net.Sockets;
using System.Text;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Hypervisor.Host.Tests.Pipeline;

/// <summary>
/// The <c>Hypervisor</c> meter through OpenTelemetry: nothing unless configured, a Prometheus endpoint on 127.0.0.1
/// that a scrape reads the pipeline's totals from, and OTLP pushes that reach a collector (a loopback listener here).
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class MetricsExportTests
{
    private static readonly string[] ExpectedFailures =
    [
        "Metrics:OtlpEndpoint: expected an absolute http or https URL such as http://127.0.0.1:4318/v1/metrics, got 'collector:4318'",
        "Metrics:PrometheusPort: expected a TCP port from 1 to 65535, got 70000",
        "Metrics:ExportInterval: expected a positive time span such as 00:00:10, got 00:00:00",
    ];

    private static LiveTotals Totals()
    {
        var totals = new LiveTotals();
        totals.AddInvalidation();
        totals.AddInvalidation();
        totals.AddInvalidation();
        totals.AddStatistics("run", Support.SampleEvents.Guest(7_000));
        return totals;
    }

    private static IHost Build(MetricsOptions options, LiveTotals totals)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(totals);
        builder.Services.AddSingleton<HypervisorMetrics>();
        MetricsExport.Add(builder.Services, options);
        var host = builder.Build();

        // The meter exists as long as the daemon's pipeline; here it is created before the host starts listening.
        _ = host.Services.GetRequiredService<HypervisorMetrics>();
        return host;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Test]
    public void Nothing_is_exported_by_default()
    {
        using var host = Build(new MetricsOptions(), Totals());
        Assert.That(host.Services.GetService<MeterProvider>(), Is.Null, "no meter provider, no listener, no exporter");
    }

    [Test]
    public async Task A_prometheus_scrape_on_127_0_0_1_reads_the_pipeline_totals(CancellationToken token)
    {
        var port = FreePort();
        using var host = Build(new MetricsOptions { PrometheusPort = port }, Totals());
        await host.StartAsync(token);
        try
        {
            using var http = new HttpClient();
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), token);
            Assert.Multiple(() =>
            {
                Assert.That(text, Does.Match(@"(?m)^invalidations_total(\{[^}]*\})? 3(\s|$)"), "three invalidations counted");
                Assert.That(text, Does.Match(@"(?m)^accesses_total(\{[^}]*\})? 7000(\s|$)"), "the guest's accesses");
                Assert.That(text, Does.Contain("tlb_flushes_total"), "every instrument, in Prometheus names");
            });
        }
        finally
        {
            await host.StopAsync(token);
        }
    }

    [Test]
    public async Task Otlp_pushes_the_meter_to_the_configured_collector(CancellationToken token)
    {
        var port = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var options = new MetricsOptions
        {
            OtlpEndpoint = $"http://127.0.0.1:{port}/v1/metrics",
            OtlpProtocol = OtlpExportProtocol.HttpProtobuf,
            ExportInterval = TimeSpan.FromMilliseconds(200),
        };
        using var host = Build(options, Totals());
        await host.StartAsync(token);
        try
        {
            // Named wait: the first periodic export.
            var context = await collector.GetContextAsync().WaitAsync(token);
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body, token);
            context.Response.StatusCode = 200;
            context.Response.Close();

            // Protobuf keeps strings as UTF-8 bytes: the meter's and the instruments' names are readable in the payload.
            var payload = Encoding.UTF8.GetString(body.ToArray());
            Assert.Multiple(() =>
            {
                Assert.That(context.Request.HttpMethod, Is.EqualTo("POST"), "a push");
                Assert.That(context.Request.Url!.AbsolutePath, Is.EqualTo("/v1/metrics"), "to the configured path");
                Assert.That(context.Request.ContentType, Does.Contain("protobuf"), "as OTLP/HTTP protobuf");
                Assert.That(payload, Does.Contain(HypervisorMetrics.MeterName), "the meter");
                Assert.That(payload, Does.Contain("invalidations").And.Contain("tlb-flushes"), "its instruments");
                Assert.That(payload, Does.Contain(MetricsExport.ServiceName), "the service name");
            });
        }
        finally
        {
            await host.StopAsync(token);
        }
    }

    [Test]
    public void Bad_settings_are_one_line_each_naming_the_key()
    {
        var result = new MetricsOptionsValidator().Validate(null, new MetricsOptions
        {
            OtlpEndpoint = "collector:4318", PrometheusPort = 70_000, ExportInterval = TimeSpan.Zero,
        });
        Assert.That(result.Failures, Is.EquivalentTo(ExpectedFailures), "each problem named by its key");
    }
}
