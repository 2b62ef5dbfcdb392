namespace Hypervisor.Host.Analyze;

/// <summary>
/// Which events <c>analyze</c> keeps. <see cref="Guest"/> and <see cref="Scenario"/> compare, ignoring case, with
/// the event's own <c>Guest</c> / <c>Scenario</c> property; an event without that property (a run's start, a
/// daemon event) passes. <see cref="Since"/> is inclusive, <see cref="Until"/> exclusive.
/// </summary>
internal sealed record AnalyzeFilter
{
    /// <summary>Keep everything.</summary>
    public static readonly AnalyzeFilter None = new();

    public string? Guest { get; init; }

    public string? Scenario { get; init; }

    public TimeBound? Since { get; init; }

    public TimeBound? Until { get; init; }

    /// <summary>True when a time window cuts the runs, so totals cannot be compared with run summaries.</summary>
    public bool HasTimeWindow => Since is not null || Until is not null;

    /// <summary>The filters in force, for the report header (empty when none).</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Guest is not null)
        {
            parts.Add($"guest {Guest}");
        }

        if (Scenario is not null)
        {
            parts.Add($"scenario {Scenario}");
        }

        if (Since is { } since)
        {
            parts.Add($"since {since}");
        }

        if (Until is { } until)
        {
            parts.Add($"until {until}");
        }

        return string.Join(", ", parts);
    }
}
