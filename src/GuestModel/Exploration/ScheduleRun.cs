using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>The outcome of running one schedule: the run's summary and what its scheduler recorded.</summary>
/// <param name="Summary">The run's summary (its <see cref="RunSummary.Schedule"/> holds the trace hash).</param>
/// <param name="Decisions">The decisions the run took: replaying them (guided) reproduces it exactly.</param>
/// <param name="Window">The steps before the first violation (or before the end), oldest first.</param>
/// <param name="Threads">The controlled threads' names, by id.</param>
/// <param name="Trace">Every step, when recorded.</param>
public sealed record ScheduleRun(RunSummary Summary, IReadOnlyList<ScheduleDecision> Decisions, IReadOnlyList<ScheduleStep> Window,
    IReadOnlyList<string> Threads, IReadOnlyList<ScheduleStep>? Trace)
{
    public bool Failed => Summary.Violations.Total > 0;

    /// <summary>The first violation's kind, or null when clean.</summary>
    public string? FirstKind => Summary.Violations.First.Count == 0 ? null : Summary.Violations.First[0].Kind;

    /// <summary>Runs the schedule a token describes on <paramref name="scenario"/> (loaded from the token's file).</summary>
    public static ScheduleRun Execute(Scenario scenario, ScheduleToken token, CancellationToken cancellation, bool recordTrace = false,
        Events.EventSink? events = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(token);
        ControlledScheduler? used = null;
        var summary = new ScenarioRunner().Run(scenario, Options(token, recordTrace, events, s => used = s), cancellation);
        return new ScheduleRun(summary, [.. used!.Decisions], used.StopWindow ?? used.RecentSteps(), used.ThreadNames, used.Trace);
    }

    /// <summary>The run options a token stands for.</summary>
    public static RunOptions Options(ScheduleToken token, bool recordTrace, Events.EventSink? events, Action<ControlledScheduler>? completed)
    {
        ArgumentNullException.ThrowIfNull(token);
        NotifierProfile? profile = token.Profile is null ? null
            : Enum.GetValues<NotifierProfile>().First(p => Names.Kebab(p.ToString()) == token.Profile);
        return new RunOptions
        {
            Seed = token.Seed,
            Duration = token.Duration,
            Mutation = token.Mutation,
            Profile = profile,
            Events = events,
            ExcludedActivities = token.DroppedActivities,
            Schedule = new ScheduleSettings
            {
                Seed = token.ScheduleSeed,
                AccessCost = token.AccessCost,
                StopAtFirstViolation = true,
                Completed = completed,
                Scheduler = new ScheduleOptions
                {
                    Strategy = token.Strategy,
                    Depth = token.Depth,
                    SwitchProbability = token.SwitchProbability,
                    ExpectedSteps = token.MaxSteps,
                    MaxSteps = token.MaxSteps,
                    Decisions = token.Decisions,
                    RecordTrace = recordTrace,
                },
            },
        };
    }
}
