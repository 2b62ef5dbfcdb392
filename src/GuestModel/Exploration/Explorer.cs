using System.Diagnostics;
using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>
/// Searches schedules of one scenario under the controlled scheduler: schedule i runs with a scheduler seed derived
/// from the run seed and i, stops at its first violation, and the first failing schedule is shrunk and reported with
/// a replay token. A shard runs only the indices that fall to it, so N shards cover exactly the unsharded search.
/// </summary>
public sealed class Explorer(Scenario scenario, ExploreOptions options)
{
    /// <summary>Runs the search; <paramref name="progress"/> hears one line per failing schedule and now and then.</summary>
    public ExploreResult Run(Action<string>? progress, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var cpuAtStart = Environment.CpuUsage.TotalTime;
        double? secondsToViolation = null;
        double? cpuSecondsToViolation = null;
        var clean = new List<ScheduleHash>();
        long steps = 0;
        long run = 0;
        FoundViolation? found = null;
        var lastReport = clock.Elapsed;
        for (var i = (long)options.ShardIndex; i < options.Schedules && !cancellation.IsCancellationRequested; i += options.ShardCount)
        {
            var token = options.TokenFor(i);
            var outcome = ScheduleRun.Execute(scenario, token, cancellation);
            if (cancellation.IsCancellationRequested && !outcome.Failed)
            {
                break; // cut short by the stop: neither clean nor failing, and not counted
            }

            run++;
            steps += outcome.Summary.Schedule!.Steps;
            if (outcome.Summary.Schedule.Abandoned is { } abandoned)
            {
                throw new InvalidOperationException($"schedule {i}: the scheduler lost control ({abandoned}); token {token.Encode()}");
            }

            if (outcome.Failed)
            {
                secondsToViolation = Math.Round(clock.Elapsed.TotalSeconds, 3);
                cpuSecondsToViolation = Math.Round((Environment.CpuUsage.TotalTime - cpuAtStart).TotalSeconds, 3);
                progress?.Invoke($"schedule {i}: {outcome.FirstKind} at step {outcome.Summary.Schedule.ViolationStep} " +
                    $"({secondsToViolation:0.0} s, {cpuSecondsToViolation:0.0} s of CPU); shrinking");
                found = new ScheduleShrinker(scenario, options, cancellation).Shrink(token, outcome);
                break;
            }

            clean.Add(new ScheduleHash(i, outcome.Summary.Schedule.TraceHash));
            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(5))
            {
                lastReport = clock.Elapsed;
                progress?.Invoke($"{run} schedules clean, {run / clock.Elapsed.TotalSeconds:0.0} schedules/s");
            }
        }

        return new ExploreResult
        {
            Scenario = options.ScenarioPath,
            Mutation = options.Mutation,
            Profile = options.Profile,
            Strategy = Names.Kebab(options.Strategy.ToString()),
            Depth = options.Depth,
            Seed = options.Seed,
            Schedules = options.Schedules,
            ShardIndex = options.ShardIndex,
            ShardCount = options.ShardCount,
            SchedulesRun = run,
            Clean = clean,
            Violation = found,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            Steps = steps,
            Interrupted = found is null && cancellation.IsCancellationRequested,
            SecondsToViolation = secondsToViolation,
            CpuSecondsToViolation = cpuSecondsToViolation,
        };
    }

    /// <summary>
    /// Combines shard results into the unsharded search's result: the first violation is the one with the lowest
    /// index, and the clean schedules are those below it. Null with a reason if the shards do not fit together.
    /// </summary>
    public static ExploreResult? Merge(IReadOnlyList<ExploreResult> shards, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(shards);
        problem = null;
        if (shards.Count == 0)
        {
            problem = "nothing to merge";
            return null;
        }

        var first = shards[0];
        foreach (var s in shards)
        {
            if (s.Scenario != first.Scenario || s.Mutation != first.Mutation || s.Strategy != first.Strategy || s.Seed != first.Seed
                || s.Schedules != first.Schedules || s.ShardCount != first.ShardCount || s.Depth != first.Depth || s.Profile != first.Profile)
            {
                problem = $"shard {s.ShardIndex} belongs to another search (scenario, mutation, strategy, seed, schedules or shard count differ)";
                return null;
            }
        }

        var missing = Enumerable.Range(0, first.ShardCount).Except(shards.Select(s => s.ShardIndex)).ToList();
        if (missing.Count != 0 || shards.Count != first.ShardCount)
        {
            problem = missing.Count != 0 ? $"shards missing: {string.Join(", ", missing)}" : "a shard is given twice";
            return null;
        }

        var violation = shards.Select(s => s.Violation).Where(v => v is not null).OrderBy(v => v!.Index).FirstOrDefault();
        var clean = shards.SelectMany(s => s.Clean).Where(c => violation is null || c.Index < violation.Index).OrderBy(c => c.Index).ToList();
        var owner = shards.FirstOrDefault(s => violation is not null && ReferenceEquals(s.Violation, violation));
        return first with
        {
            ShardIndex = 0,
            ShardCount = 1,
            SchedulesRun = violation is null ? shards.Sum(s => s.SchedulesRun) : violation.Index + 1,
            Clean = clean,
            Violation = violation,
            Interrupted = violation is null && shards.Any(s => s.Interrupted),
            SecondsToViolation = owner?.SecondsToViolation,
            CpuSecondsToViolation = owner?.CpuSecondsToViolation,
            Seconds = shards.Max(s => s.Seconds),
            Steps = shards.Sum(s => s.Steps),
        };
    }
}
