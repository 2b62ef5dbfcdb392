namespace Hypervisor.GuestModel.Scenarios;

/// <summary>How a deterministic run picks the next thread (the scenario file's <c>deterministic.strategy</c>).</summary>
public enum DeterministicStrategy
{
    /// <summary>Random walk with a switch probability at each scheduling point.</summary>
    Random = 0,

    /// <summary>Probabilistic concurrency testing with a bug depth.</summary>
    Pct,
}

/// <summary>
/// A scenario's <c>deterministic:</c> section: the scenario runs under the controlled scheduler by default (as with
/// <c>run --deterministic</c>), with these settings; <c>explore</c> takes its per-schedule defaults from it. Each
/// field left out keeps the command's default.
/// </summary>
public sealed record DeterministicSpec
{
    /// <summary>The scheduler's seed of a <c>run</c>; null: the run's seed. (<c>explore</c> derives one per schedule.)</summary>
    public ulong? Seed { get; init; }

    public DeterministicStrategy? Strategy { get; init; }

    /// <summary>PCT bug depth.</summary>
    public int? Depth { get; init; }

    /// <summary>Random walk: the chance of a switch at each scheduling point.</summary>
    public double? SwitchProbability { get; init; }

    /// <summary>Virtual time one guest access takes.</summary>
    public TimeSpan? AccessCost { get; init; }

    /// <summary>Step budget of a run, and of each schedule <c>explore</c> runs.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Virtual duration of each schedule <c>explore</c> runs (a <c>run</c> keeps the scenario's <c>duration</c>).</summary>
    public TimeSpan? ExploreDuration { get; init; }
}
