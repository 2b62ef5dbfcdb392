using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hypervisor.GuestModel;
using Hypervisor.Host.Configuration;
using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Host.Cli;

/// <summary>
/// <c>hypervisor explore SCENARIO --schedules N [--strategy random|pct] [--depth D] [--mutation M] [--shard I/N]</c>:
/// searches interleavings under the controlled scheduler, stops at the first violation, shrinks it and prints a
/// replay token (exit 1), or reports every schedule clean (exit 0). <c>explore --merge FILE...</c> combines shard
/// results written with <c>--out</c>.
/// </summary>
internal static class ExploreVerb
{
    public static Command Create()
    {
        var scenario = new Argument<string?>("scenario") { Description = "The scenario file to explore.", Arity = ArgumentArity.ZeroOrOne };
        var schedules = new Option<long>("--schedules") { Description = "Schedules in the whole search (all shards together).", DefaultValueFactory = _ => 1000 };
        var strategy = new Option<string>("--strategy") { Description = "random (random walk) or pct (priority change points).", DefaultValueFactory = _ => "random" };
        var depth = new Option<int>("--depth") { Description = "PCT bug depth (change points + 1).", DefaultValueFactory = _ => 3 };
        var mutation = new Option<string?>("--mutation") { Description = "Explore a deliberately broken variant: " + string.Join(", ", MutationCatalog.Names) + "." };
        var profile = new Option<string?>("--profile") { Description = "Override the notifier API profile: modern or legacy2008." };
        var seed = new Option<ulong?>("--seed") { Description = "The run seed (default the scenario's); schedule i's scheduler seed derives from it and i." };
        var shard = new Option<string?>("--shard") { Description = "I/N: run only schedules with index ≡ I (mod N), e.g. $(JOB_COMPLETION_INDEX)/8." };
        var duration = new Option<string>("--duration") { Description = "Virtual duration of each schedule.", DefaultValueFactory = _ => "60ms" };
        var maxSteps = new Option<long>("--max-steps") { Description = "Step budget of each schedule.", DefaultValueFactory = _ => 30_000 };
        var noShrink = new Option<bool>("--no-shrink") { Description = "Report the failing schedule as found, without shrinking it." };
        var output = new Option<string?>("--out") { Description = "Write the result (JSON) to this file: a shard's, or the merged one." };
        var merge = new Option<string[]>("--merge") { Description = "Merge shard results written with --out.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("explore", "Search thread interleavings for a violation under the controlled scheduler.")
        {
            scenario, schedules, strategy, depth, mutation, profile, seed, shard, duration, maxSteps, noShrink, output, merge,
        };
        command.SetAction((parse, cancellation) =>
        {
            if (parse.GetValue(merge) is { Length: > 0 } files)
            {
                return Task.FromResult(Merge(files, parse.GetValue(output)));
            }

            var options = ParseOptions(parse.GetValue(scenario), parse.GetValue(schedules), parse.GetValue(strategy)!, parse.GetValue(depth),
                parse.GetValue(mutation), parse.GetValue(profile), parse.GetValue(shard), parse.GetValue(duration)!, parse.GetValue(maxSteps));
            return Task.FromResult(Explore(options with { Shrink = !parse.GetValue(noShrink) }, parse.GetValue(seed), parse.GetValue(output), cancellation));
        });
        return command;
    }

    private static ExploreOptions ParseOptions(string? scenario, long schedules, string strategy, int depth, string? mutation, string? profile,
        string? shard, string duration, long maxSteps)
    {
        if (scenario is null)
        {
            throw new BadInputException("explore: expected a scenario file (or --merge FILE...)");
        }

        if (schedules < 1)
        {
            throw new BadInputException($"--schedules: expected a positive number, got {schedules}");
        }

        var kind = strategy switch
        {
            "random" => ScheduleStrategyKind.Random,
            "pct" => ScheduleStrategyKind.Pct,
            _ => throw new BadInputException($"--strategy: expected random or pct, got '{strategy}'"),
        };
        if (depth is < 1 or > 64)
        {
            throw new BadInputException($"--depth: expected 1 to 64, got {depth}");
        }

        if (mutation is not null && (mutation.Length == 0 || !MutationCatalog.TryParse(mutation, out _)))
        {
            throw new BadInputException($"--mutation: expected one of {string.Join(", ", MutationCatalog.Names)}, got '{mutation}'");
        }

        if (profile is not null && profile is not ("modern" or "legacy2008"))
        {
            throw new BadInputException($"--profile: expected modern or legacy2008, got '{profile}'");
        }

        if (!ScenarioUnits.TryParseDuration(duration, out var span, out _) || span <= TimeSpan.Zero || ScenarioLimits.CheckTimer(span) is not null)
        {
            throw new BadInputException($"--duration: expected a positive duration such as 60ms, got '{duration}'");
        }

        if (maxSteps < 1)
        {
            throw new BadInputException($"--max-steps: expected a positive number, got {maxSteps}");
        }

        var (index, count) = ParseShard(shard);
        return new ExploreOptions
        {
            ScenarioPath = scenario, Schedules = schedules, Strategy = kind, Depth = depth, Mutation = mutation, Profile = profile,
            ShardIndex = index, ShardCount = count, Duration = span, MaxSteps = maxSteps,
        };
    }

    /// <summary>"I/N" with 0 ≤ I &lt; N; null is the whole search.</summary>
    internal static (int Index, int Count) ParseShard(string? shard)
    {
        if (shard is null)
        {
            return (0, 1);
        }

        var parts = shard.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || i >= n)
        {
            throw new BadInputException($"--shard: expected I/N with 0 <= I < N (e.g. 3/8), got '{shard}'");
        }

        return (i, n);
    }

    private static int Explore(ExploreOptions options, ulong? seed, string? output, CancellationToken cancellation)
    {
        var loaded = ScenarioFiles.LoadAll([options.ScenarioPath], Console.Error) ?? throw new BadInputException(
            $"{options.ScenarioPath}: the scenario does not load");
        var scenario = loaded[0];
        options = options with { Seed = seed ?? scenario.Seed };
        if (output is not null)
        {
            OutputFile.Check("--out", output, [RepositoryPaths.Resolve(options.ScenarioPath)]);
        }

        var shardText = options.ShardCount == 1 ? string.Empty : $" (shard {options.ShardIndex}/{options.ShardCount})";
        Console.WriteLine($"exploring {scenario.Name}: {options.Schedules:N0} schedules{shardText}, strategy {Names.Kebab(options.Strategy.ToString())}" +
            (options.Strategy == ScheduleStrategyKind.Pct ? $" depth {options.Depth}" : string.Empty) +
            $", seed {options.Seed}, mutation {options.Mutation ?? "none"}, {options.Duration.TotalMilliseconds:0.#} ms virtual, at most {options.MaxSteps:N0} steps each");
        var result = new Explorer(scenario, options).Run(Console.WriteLine, cancellation);
        Print(result);
        if (output is not null)
        {
            OutputFile.Write("--out", output, [RepositoryPaths.Resolve(options.ScenarioPath)],
                writer => writer.Write(JsonSerializer.Serialize(result, SummaryJson.Options)));
        }

        return result.ExitCode;
    }

    private static int Merge(string[] files, string? output)
    {
        var shards = new List<ExploreResult>();
        foreach (var file in files)
        {
            try
            {
                shards.Add(JsonSerializer.Deserialize<ExploreResult>(File.ReadAllText(file), SummaryJson.Options)
                    ?? throw new BadInputException($"--merge: '{file}' is empty"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                throw new BadInputException($"--merge: cannot read '{file}' as an explore result ({e.Message})");
            }
        }

        var merged = Explorer.Merge(shards, out var problem) ?? throw new BadInputException($"--merge: {problem}");
        Console.WriteLine($"merged {shards.Count} shards of {merged.Scenario}");
        Print(merged);
        if (output is not null)
        {
            OutputFile.Write("--out", output, files, writer => writer.Write(JsonSerializer.Serialize(merged, SummaryJson.Options)));
        }

        return merged.ExitCode;
    }

    private static void Print(ExploreResult result)
    {
        var rate = result.Seconds > 0 ? result.SchedulesRun / result.Seconds : 0;
        if (result.Violation is not { } v)
        {
            Console.WriteLine($"clean: {result.SchedulesRun:N0} schedules, {result.Steps:N0} steps, {result.Seconds:0.0} s ({rate:0.0} schedules/s), digest {result.Digest}");
            return;
        }

        Console.WriteLine($"violation in schedule {v.Index} after {result.SchedulesRun:N0} schedules, {result.Seconds:0.0} s ({rate:0.0} schedules/s): " +
            $"{string.Join(", ", v.Kinds)}: {v.Detail}");
        Console.WriteLine($"shrunk: {v.DecisionsBefore} -> {v.DecisionsAfter} decisions, {v.ThreadsBefore} -> {v.ThreadsAfter} threads; " +
            $"violation at step {v.Step:N0}, trace hash {v.TraceHash}; digest {result.Digest}");
        Console.WriteLine($"replay token: {v.Token}");
        Console.WriteLine($"replay with: hypervisor replay {v.Token}");
    }
}
