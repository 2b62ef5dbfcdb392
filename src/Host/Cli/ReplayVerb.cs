using System.CommandLine;
using System.Text.Json;
using Hypervisor.GuestModel.Exploration;
using Hypervisor.Host.Configuration;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Host.Cli;

/// <summary>
/// <c>hypervisor replay TOKEN</c>: runs the schedule a token describes again, exactly (the same steps, the same trace
/// hash), prints its summary and the interleaving that led to the first violation: which thread took which
/// kernel-named step. <c>--log-dir</c> writes the run's JSON log (what <c>analyze</c> reads), <c>--trace</c> the
/// steps as JSON lines.
/// </summary>
internal static class ReplayVerb
{
    public static Command Create()
    {
        var token = new Argument<string>("token") { Description = "A replay token printed by explore (hv2.… or the older hv1.…)." };
        var window = new Option<int>("--window") { Description = "Steps to print before the violation.", DefaultValueFactory = _ => 40 };
        var trace = new Option<string?>("--trace") { Description = "Write every step of the run as JSON lines to this file." };
        var logDir = new Option<string?>("--log-dir") { Description = "Write the run's JSON log (the daemon's format, for analyze) into this directory." };
        var summary = new Option<string?>("--summary") { Description = "Write the summary JSON to this file." };
        var command = new Command("replay", "Reproduce a schedule found by explore and print the interleaving around its violation.")
        {
            token, window, trace, logDir, summary,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(Execute(parse.GetValue(token)!, parse.GetValue(window), parse.GetValue(trace),
            parse.GetValue(logDir), parse.GetValue(summary), cancellation)));
        return command;
    }

    private static int Execute(string text, int window, string? tracePath, string? logDir, string? summaryPath, CancellationToken cancellation)
    {
        if (!ScheduleToken.TryDecode(text, out var token, out var problem))
        {
            throw new BadInputException($"replay: not a replay token: {problem}");
        }

        if (window < 0)
        {
            throw new BadInputException($"--window: expected a number of steps, got {window}");
        }

        var scenarioFile = RepositoryPaths.Resolve(token!.Scenario);
        if (tracePath is not null)
        {
            OutputFile.Check("--trace", tracePath, [scenarioFile]);
        }

        Console.WriteLine($"replaying schedule {token.Index} of {token.Scenario}: {Describe(token)}");
        ControlledScheduler? scheduler = null;
        var options = ScheduleRun.Options(token, recordTrace: tracePath is not null, events: null, completed: s => scheduler = s);
        var exit = RunVerb.Execute([token.Scenario], options, null, null, summaryPath, logDir, null, cancellation);
        if (scheduler is null)
        {
            return exit;
        }

        var steps = scheduler.StopWindow ?? scheduler.RecentSteps();
        Console.WriteLine(scheduler.StopWindow is null
            ? $"no violation; the last {Math.Min(window, steps.Count)} steps:"
            : $"the {Math.Min(window, steps.Count)} steps up to the first violation (step {scheduler.StopStep:N0}):");
        Console.WriteLine($"{"step",8} {"virtual",13}  {"thread",-28} {"kind",-7} protocol step");
        foreach (var step in steps.Skip(Math.Max(0, steps.Count - window)))
        {
            Console.WriteLine(step.ToString());
        }

        Console.WriteLine($"trace hash {scheduler.TraceHash:x16}, {scheduler.Steps:N0} steps, {scheduler.Switches:N0} switches");
        if (tracePath is not null && scheduler.Trace is { } all)
        {
            OutputFile.Write("--trace", tracePath, [scenarioFile], writer =>
            {
                foreach (var s in all)
                {
                    writer.WriteLine(JsonSerializer.Serialize(new
                    {
                        step = s.Index,
                        ms = Math.Round(TimeSpan.FromTicks(s.Ticks).TotalMilliseconds, 4),
                        thread = s.ThreadName,
                        kind = ScheduleStep.KindName(s.Kind),
                        point = s.Name,
                    }));
                }
            });
        }

        return exit;
    }

    private static string Describe(ScheduleToken t) =>
        $"seed {t.Seed}, mutation {t.Mutation ?? "none"}, {(t.Strategy == ScheduleStrategyKind.Guided ? $"{t.Decisions.Count} decisions" : $"{t.Strategy} seed {t.ScheduleSeed}")}" +
        (t.DroppedActivities.Count == 0 ? string.Empty : $", activities left out: {string.Join(", ", t.DroppedActivities)}");
}
