using Microsoft.Extensions.Options;

namespace Hypervisor.Host.Configuration;

/// <summary>Checks <see cref="MetricsOptions"/>; each failure is one line <c>Metrics:Key: expected ..., got ...</c>.</summary>
internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var problems = new List<string>();
        var s = MetricsOptions.Section;
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint)
            && (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            problems.Add($"{s}:{nameof(options.OtlpEndpoint)}: expected an absolute http or https URL such as http://127.0.0.1:4318/v1/metrics, got '{options.OtlpEndpoint}'");
        }

        if (options.PrometheusPort is { } port && port is < 1 or > 65535)
        {
            problems.Add($"{s}:{nameof(options.PrometheusPort)}: expected a TCP port from 1 to 65535, got {port}");
        }

        OptionChecks.Positive(problems, $"{s}:{nameof(options.ExportInterval)}", options.ExportInterval);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
