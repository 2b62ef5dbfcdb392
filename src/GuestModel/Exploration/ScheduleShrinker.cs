using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>
/// Shrinks a failing schedule before it is reported: first its decisions (delta debugging: drop halves, then
/// quarters, ... of the context switches, keeping any cut after which the schedule still fails), then its threads
/// (activities left out one at a time). Every candidate is run for real; the result replays to a violation.
/// </summary>
public sealed class ScheduleShrinker(Scenario scenario, ExploreOptions options, CancellationToken cancellation)
{
    private int _runs;

    public FoundViolation Shrink(ScheduleToken found, ScheduleRun failing)
    {
        ArgumentNullException.ThrowIfNull(found);
        ArgumentNullException.ThrowIfNull(failing);
        // The schedule as a list of decisions: a guided replay of them is the same run.
        var best = found with { Strategy = ScheduleStrategyKind.Guided, Decisions = failing.Decisions };
        var bestRun = failing;
        if (options.Shrink)
        {
            (best, bestRun) = ShrinkDecisions(best, bestRun);
            (best, bestRun) = ShrinkThreads(best, bestRun);
        }
        else
        {
            bestRun = ScheduleRun.Execute(scenario, best, cancellation);
        }

        // A schedule shrinking could not cut is reported as explored (strategy and seed): the same run, and a token of
        // a few dozen characters instead of thousands of decisions.
        var unchanged = best.DroppedActivities.Count == 0 && best.Decisions.SequenceEqual(failing.Decisions);
        return new FoundViolation(found.Index, [.. bestRun.Summary.Violations.ByKind.Keys.Order(StringComparer.Ordinal)],
            bestRun.Summary.Violations.First.Count > 0 ? bestRun.Summary.Violations.First[0].Detail : string.Empty,
            unchanged ? found.Encode() : best.Encode(), found.Encode(),
            bestRun.Summary.Schedule!.ViolationStep, failing.Decisions.Count, best.Decisions.Count, failing.Threads.Count,
            bestRun.Threads.Count, bestRun.Summary.Schedule.TraceHash);
    }

    private (ScheduleToken, ScheduleRun) ShrinkDecisions(ScheduleToken token, ScheduleRun run)
    {
        var decisions = token.Decisions.ToList();
        for (var chunk = Math.Max(1, decisions.Count / 2); chunk >= 1 && Budget(); chunk /= 2)
        {
            for (var start = 0; start < decisions.Count && Budget();)
            {
                var candidate = decisions.Take(start).Concat(decisions.Skip(start + chunk)).ToList();
                if (TryFail(token with { Decisions = candidate }) is { } still)
                {
                    // Keep what the run actually took (a removed switch can make later decisions moot).
                    decisions = [.. still.Decisions];
                    token = token with { Decisions = decisions };
                    run = still;
                }
                else
                {
                    start += chunk;
                }
            }

            if (chunk == 1)
            {
                break;
            }
        }

        return (token, run);
    }

    private (ScheduleToken, ScheduleRun) ShrinkThreads(ScheduleToken token, ScheduleRun run)
    {
        for (var i = 0; i < scenario.Activities.Count && Budget(); i++)
        {
            var candidate = token with { DroppedActivities = [.. token.DroppedActivities, i] };
            if (TryFail(candidate) is { } still)
            {
                token = candidate with { Decisions = still.Decisions };
                run = still;
            }
        }

        return (token, run);
    }

    private bool Budget() => _runs < options.ShrinkRuns && !cancellation.IsCancellationRequested;

    private ScheduleRun? TryFail(ScheduleToken candidate)
    {
        _runs++;
        var run = ScheduleRun.Execute(scenario, candidate, cancellation);
        return run.Failed && run.Summary.Schedule!.Abandoned is null ? run : null;
    }
}
