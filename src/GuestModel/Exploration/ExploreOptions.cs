using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>What <see cref="Explorer"/> searches: schedules 0..<see cref="Schedules"/>-1 of one scenario, or one shard of them.</summary>
public sealed record ExploreOptions
{
    /// <summary>The scenario file as given (tokens name it).</summary>
    public required string ScenarioPath { get; init; }

    /// <summary>Schedules in the whole search (all shards together).</summary>
    public long Schedules { get; init; } = 1000;

    public ScheduleStrategyKind Strategy { get; init; } = ScheduleStrategyKind.Random;

    /// <summary>PCT bug depth.</summary>
    public int Depth { get; init; } = 3;

    public string? Mutation { get; init; }

    public string? Profile { get; init; }

    /// <summary>The run's seed (workloads); schedule i's scheduler seed is derived from it and i.</summary>
    public ulong Seed { get; init; }

    /// <summary>This process's shard: schedules with index ≡ <see cref="ShardIndex"/> (mod <see cref="ShardCount"/>).</summary>
    public int ShardIndex { get; init; }

    public int ShardCount { get; init; } = 1;

    /// <summary>Virtual duration of each schedule.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMilliseconds(60);

    /// <summary>Step budget of each schedule.</summary>
    public long MaxSteps { get; init; } = 30_000;

    /// <summary>Virtual time per guest access (larger: activities come sooner in steps).</summary>
    public TimeSpan AccessCost { get; init; } = TimeSpan.FromMicroseconds(20);

    public double SwitchProbability { get; init; } = 1.0 / 8;

    /// <summary>Shrink a failing schedule before reporting it.</summary>
    public bool Shrink { get; init; } = true;

    /// <summary>At most this many re-runs while shrinking.</summary>
    public int ShrinkRuns { get; init; } = 40;

    /// <summary>These options with the settings a scenario's <c>deterministic:</c> section gives in place of the defaults.</summary>
    public ExploreOptions WithScenarioDefaults(DeterministicSpec? spec) => spec is null ? this : this with
    {
        Strategy = spec.Strategy switch
        {
            DeterministicStrategy.Pct => ScheduleStrategyKind.Pct,
            DeterministicStrategy.Random => ScheduleStrategyKind.Random,
            _ => Strategy,
        },
        Depth = spec.Depth ?? Depth,
        SwitchProbability = spec.SwitchProbability ?? SwitchProbability,
        AccessCost = spec.AccessCost ?? AccessCost,
        MaxSteps = spec.MaxSteps ?? MaxSteps,
        Duration = spec.ExploreDuration ?? Duration,
    };

    /// <summary>The token of schedule <paramref name="index"/> as explored (strategy and seed, no decisions).</summary>
    public ScheduleToken TokenFor(long index) => new()
    {
        Scenario = ScenarioPath,
        Seed = Seed,
        Mutation = Mutation,
        Profile = Profile,
        Duration = Duration,
        MaxSteps = MaxSteps,
        AccessCost = AccessCost,
        Strategy = Strategy,
        ScheduleSeed = ScheduleSeedFor(Seed, index),
        Depth = Depth,
        SwitchProbability = SwitchProbability,
        Index = index,
    };

    /// <summary>SplitMix64 of the run seed and the index: schedule i is the same schedule in every shard layout.</summary>
    public static ulong ScheduleSeedFor(ulong seed, long index)
    {
        var z = seed + ((ulong)(index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
