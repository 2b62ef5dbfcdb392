using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// A deterministic run: every thread of the run under one <see cref="ControlledScheduler"/>, time virtual, the
/// interleaving chosen by <see cref="Scheduler"/>'s strategy and seed.
/// </summary>
public sealed record ScheduleSettings
{
    /// <summary>The strategy and its limits; its seed is replaced by <see cref="Seed"/>.</summary>
    public ScheduleOptions Scheduler { get; init; } = new();

    /// <summary>The scheduler's seed; null: the run's seed.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Virtual time a guest access takes; a vCPU consumes it in slices of <see cref="AccessesPerSlice"/>.</summary>
    public TimeSpan AccessCost { get; init; } = TimeSpan.FromMicroseconds(1);

    /// <summary>Guest accesses a vCPU runs between two virtual-time slices (scheduling points in guest mode).</summary>
    public int AccessesPerSlice { get; init; } = 16;

    /// <summary>Stop the run at the first violation (exploration): the rest of the run cannot make it clean.</summary>
    public bool StopAtFirstViolation { get; init; }

    /// <summary>Called on the runner's thread with the scheduler once the run ended (its trace, decisions, hash).</summary>
    public Action<ControlledScheduler>? Completed { get; init; }

    /// <summary>
    /// The scenario's <c>deterministic:</c> section, when it has one, overrides these settings (<c>run
    /// --deterministic</c>); false for settings that are complete already (a replay token's).
    /// </summary>
    public bool UseScenarioSettings { get; init; }

    /// <summary>
    /// The settings a run of <paramref name="scenario"/> uses given the caller's <paramref name="asked"/>: a scenario
    /// with a <c>deterministic:</c> section is controlled even when nothing was asked, with its settings.
    /// </summary>
    public static ScheduleSettings? For(Scenario scenario, ScheduleSettings? asked)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        if (scenario.Deterministic is not { } spec || asked is { UseScenarioSettings: false })
        {
            return asked;
        }

        var settings = asked ?? new ScheduleSettings();
        var scheduler = settings.Scheduler;
        return settings with
        {
            Seed = spec.Seed ?? settings.Seed,
            AccessCost = spec.AccessCost ?? settings.AccessCost,
            Scheduler = scheduler with
            {
                Strategy = spec.Strategy switch
                {
                    DeterministicStrategy.Pct => ScheduleStrategyKind.Pct,
                    DeterministicStrategy.Random => ScheduleStrategyKind.Random,
                    _ => scheduler.Strategy,
                },
                Depth = spec.Depth ?? scheduler.Depth,
                SwitchProbability = spec.SwitchProbability ?? scheduler.SwitchProbability,
                MaxSteps = spec.MaxSteps ?? scheduler.MaxSteps,
                ExpectedSteps = spec.MaxSteps ?? scheduler.ExpectedSteps,
            },
        };
    }
}
