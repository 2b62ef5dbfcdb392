using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>What the log says about one run (one RunId): its start, end, summary, and its invalidation counts.</summary>
internal sealed class RunState(string runId)
{
    public string RunId { get; } = runId;

    public string? Scenario { get; set; }

    public string? Profile { get; set; }

    public string? Seed { get; set; }

    public string? Mutation { get; set; }

    public int? Guests { get; set; }

    public int? Vcpus { get; set; }

    public bool Started { get; set; }

    /// <summary>The run's own length from <c>ScenarioEnded</c> or the summary; null when it ended abruptly.</summary>
    public double? EndedAfterSeconds { get; set; }

    public int? ExitCode { get; set; }

    public long ViolationEvents { get; set; }

    /// <summary>True once a <c>RunSummary</c> of this run was read.</summary>
    public bool HasSummary { get; set; }

    /// <summary>The summary's totals (or, with a guest filter, that guest's line); null without a <c>RunSummary</c>.</summary>
    public SummaryCounts? Summary { get; set; }

    public GroupCounter Invalidations { get; } = new();

    private double _minElapsed = double.PositiveInfinity;
    private double _maxElapsed = double.NegativeInfinity;

    /// <summary>Notes an <c>ElapsedSeconds</c> seen inside the window.</summary>
    public void ObserveElapsed(double seconds)
    {
        _minElapsed = Math.Min(_minElapsed, seconds);
        _maxElapsed = Math.Max(_maxElapsed, seconds);
    }

    /// <summary>
    /// The run time the window saw: from the start (when the start event is in it, else the first elapsed time seen)
    /// to the end (its recorded length, else the last elapsed time seen).
    /// </summary>
    public double Seconds
    {
        get
        {
            var from = Started ? 0 : double.IsPositiveInfinity(_minElapsed) ? 0 : _minElapsed;
            var to = EndedAfterSeconds ?? (double.IsNegativeInfinity(_maxElapsed) ? from : _maxElapsed);
            return Math.Max(0, to - from);
        }
    }

    public void Describe(in LogEvent start)
    {
        Started = true;
        Scenario ??= start.Text("Scenario"u8);
        Profile = ProfileNames.Normalize(start.Text("Profile"u8));
        Seed = start.Text("Seed"u8);
        Mutation = start.Text("Mutation"u8);
        Guests = start.Has("Guests"u8) ? (int)start.Int64("Guests"u8) : null;
        Vcpus = start.Has("Vcpus"u8) ? (int)start.Int64("Vcpus"u8) : null;
    }
}
