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
internal static partial class ExploreVerb
{
    public static Command Create()
    {
        var scenario = new Argument<string?>("scenario") { Description = "The scenario file to explore.", Arity = ArgumentArity.ZeroOrOne };
        var schedules = new Option<long>("--schedules") { Description = "Schedules in the whole search (all shards together).", DefaultValueFactory = _ => 1000 };
        var strategy = new Option<string?>("--strategy") { Description = "random (random walk) or pct (priority change points); default the scenario's deterministic.strategy, else random." };
        var depth = new Option<int?>("--depth") { Description = "PCT bug depth (change points + 1); default the scenario's deterministic.depth, else 3." };
        var mutation = new Option<string?>("--mutation") { Description = "Explore a deliberately broken variant: " + string.Join(", ", MutationCatalog.Names) + "." };
        var profile = new Option<string?>("--profile") { Description = "Override the notifier API profile: modern or legacy2008." };
        var seed = new Option<ulong?>("--seed") { Description = "The run seed (default the scenario's); schedule i's scheduler seed derives from it and i." };
        var shard = new Option<string?>("--shard") { Description = "I/N: run only schedules with index ≡ I (mod N), e.g. $(JOB_COMPLETION_INDEX)/8." };
        var duration = new Option<string?>("--duration") { Description = "Virtual duration of each schedule; default the scenario's deterministic.exploreDuration, else 60ms." };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Step budget of each schedule; default the scenario's deterministic.maxSteps, else 30000." };
        var accessCost = new Option<string?>("--access-cost") { Description = "Virtual time of one guest access (larger: activities come sooner in steps); default the scenario's deterministic.accessCost, else 0.02ms." };
        var noShrink = new Option<bool>("--no-shrink") { Description = "Report the failing schedule as found, without shrinking it." };
        var output = new Option<string?>("--out") { Description = "Write the result (JSON) to this file: a shard's, or the merged one." };
        var merge = new Option<string[]>("--merge") { Description = "Merge shard results written with --out.", AllowMultipleArgumentsPerToken = true };
        var (allMutations, seeds, budget) = AllMutationsOptions();
        var command = new Command("explore", "Search thread interleavings for a violation under the controlled scheduler.")
        {
            scenario, schedules, strategy, depth, mutation, profile, seed, shard, duration, maxSteps, accessCost, noShrink, output, merge,
            allMutations, seeds, budget,
        };
        command.SetAction((parse, cancellation) =>
        {
            if (parse.GetValue(allMutations))
            {
                return Task.FromResult(AllMutations(parse.GetValue(mutation), parse.GetValue(seeds), parse.GetValue(budget)!, parse.GetValue(output), cancellation));
            }

            if (parse.GetValue(merge) is { Length: > 0 } files)
            {
                return Task.FromResult(Merge(files, parse.GetValue(output)));
            }

            var options = ParseOptions(parse.GetValue(scenario), parse.GetValue(schedules), parse.GetValue(strategy), parse.GetValue(depth),
                parse.GetValue(mutation), parse.GetValue(profile), parse.GetValue(shard), parse.GetValue(duration), parse.GetValue(maxSteps), parse.GetValue(accessCost));
            return Task.FromResult(Explore(options with { Shrink = !parse.GetValue(noShrink) }, parse.GetValue(seed), parse.GetValue(output), cancellation));
        });
        return command;
    }

    /// <summary>
    /// The search the options describe; what the command line leaves out comes from the scenario's
    /// <c>deterministic:</c> section (read later, in <see cref="Explore"/>), else from <see cref="ExploreOptions"/>.
    /// </summary>
    private static Parsed ParseOptions(string? scenario, long schedules, string? strategy, int? depth, string? mutation, string? profile,
        string? shard, string? duration, long? maxSteps, string? accessCost)
    {
        if (scenario is null)
        {
            throw new BadInputException("explore: expected a scenario file (or --merge FILE...)");
        }

        if (schedules < 1)
        {
            throw new BadInputException($"--schedules: expected a positive number, got {schedules}");
        }

        ScheduleStrategyKind? kind = strategy switch
        {
            null => null,
            "random" => ScheduleStrategyKind.Random,
            "pct" => ScheduleStrategyKind.Pct,
            _ => throw new BadInputException($"--strategy: expected random or pct, got '{strategy}'"),
        };
        if (depth is < 1 or > ScenarioLoader.MaxPctDepth)
        {
            throw new BadInputException($"--depth: expected 1 to {ScenarioLoader.MaxPctDepth}, got {depth}");
        }

        if (mutation is not null && (mutation.Length == 0 || !MutationCatalog.TryParse(mutation, out _)))
        {
            throw new BadInputException($"--mutation: expected one of {string.Join(", ", MutationCatalog.Names)}, got '{mutation}'");
        }

        if (profile is not null && profile is not ("modern" or "legacy2008"))
        {
            throw new BadInputException($"--profile: expected modern or legacy2008, got '{profile}'");
        }

        TimeSpan? span = null;
        if (duration is not null)
        {
            if (!ScenarioUnits.TryParseDuration(duration, out var parsed, out _) || parsed <= TimeSpan.Zero || ScenarioLimits.CheckTimer(parsed) is not null)
            {
                throw new BadInputException($"--duration: expected a positive duration such as 60ms, got '{duration}'");
            }

            span = parsed;
        }

        TimeSpan? cost = null;
        if (accessCost is not null)
        {
            if (!ScenarioUnits.TryParseDuration(accessCost, out var parsed, out _) || parsed <= TimeSpan.Zero || parsed > TimeSpan.FromSeconds(1))
            {
                throw new BadInputException($"--access-cost: expected a positive duration up to 1s such as 0.02ms, got '{accessCost}'");
            }

            cost = parsed;
        }

        if (maxSteps < 1)
        {
            throw new BadInputException($"--max-steps: expected a positive number, got {maxSteps}");
        }

        var (index, count) = ParseShard(shard);
        return new Parsed(new ExploreOptions
        {
            ScenarioPath = scenario, Schedules = schedules, Mutation = mutation, Profile = profile, ShardIndex = index, ShardCount = count,
        }, kind, depth, span, maxSteps, cost);
    }

    /// <summary>The command line's search, and the settings it gave (null: the scenario's or the default).</summary>
    private sealed record Parsed(ExploreOptions Options, ScheduleStrategyKind? Strategy, int? Depth, TimeSpan? Duration, long? MaxSteps,
        TimeSpan? AccessCost)
    {
        public bool Shrink { get; init; } = true;

        /// <summary>The search on <paramref name="scenario"/>: the command line first, then its deterministic section.</summary>
        public ExploreOptions For(Scenario scenario, ulong? seed)
        {
            var options = Options.WithScenarioDefaults(scenario.Deterministic);
            return options with
            {
                Seed = seed ?? scenario.Seed,
                Strategy = Strategy ?? options.Strategy,
                Depth = Depth ?? options.Depth,
                Duration = Duration ?? options.Duration,
                MaxSteps = MaxSteps ?? options.MaxSteps,
                AccessCost = AccessCost ?? options.AccessCost,
                Shrink = Shrink,
            };
        }
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

    private static int Explore(Parsed parsed, ulong? seed, string? output, CancellationToken cancellation)
    {
        var loaded = ScenarioFiles.LoadAll([parsed.Options.ScenarioPath], Console.Error) ?? throw new BadInputException(
            $"{parsed.Options.ScenarioPath}: the scenario does not load");
        var scenario = loaded[0];
        var options = parsed.For(scenario, seed);
        if (output is not null)
        {
            OutputFile.Check("--out", output, [RepositoryPaths.Resolve(options.ScenarioPath)]);
        }

        var shardText = options.ShardCount == 1 ? string.Empty : $" (shard {options.ShardIndex}/{options.ShardCount})";
        Console.WriteLine($"exploring {scenario.Name}: {options.Schedules:N0} schedules{shardText}, strategy {Names.Kebab(options.Strategy.ToString())}" +
            (options.Strategy == ScheduleStrategyKind.Pct ? $" depth {options.Depth}" : string.Empty) +
            $", seed {options.Seed}, mutation {options.Mutation ?? "none"}, {options.Duration.TotalMilliseconds:0.#} ms virtual, at most {options.MaxSteps:N0} steps each, {options.AccessCost.TotalMilliseconds:0.####} ms per access");
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
        if (result.Violation is null && result.Interrupted)
        {
            Console.WriteLine($"interrupted after {result.SchedulesRun:N0} of {result.Schedules:N0} schedules ({result.Seconds:0.0} s): " +
                "no violation in those, the search is incomplete");
            return;
        }

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
