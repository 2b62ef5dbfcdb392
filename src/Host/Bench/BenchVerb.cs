using System.CommandLine;
using Hypervisor.Host.Cli;

namespace Hypervisor.Host.Bench;

/// <summary>
/// <c>hypervisor bench</c>: measures the event pipeline. First how many invalidation events per second the consumer
/// and the Serilog JSON file sink sustain (synthetic events from several producer threads, timed until the log file
/// is closed); then how much logging every invalidation slows a real scenario (accesses per second with the pipeline
/// and the file log, against the same run with events discarded).
/// </summary>
internal static class BenchVerb
{
    public static Command Create()
    {
        var events = new Option<int>("--events") { Description = "Synthetic invalidation events to push through the pipeline.", DefaultValueFactory = _ => 1_000_000 };
        var producers = new Option<int>("--producers") { Description = "Producer threads.", DefaultValueFactory = _ => 2 };
        var scenario = new Option<string>("--scenario") { Description = "Scenario for the slowdown measurement.", DefaultValueFactory = _ => RepositoryPaths.DefaultScenario };
        var duration = new Option<string>("--duration") { Description = "Length of each scenario run.", DefaultValueFactory = _ => "5s" };
        var pairs = new Option<int>("--pairs") { Description = "Scenario runs with and without logging, alternating; medians are compared.", DefaultValueFactory = _ => 3 };
        var logDir = new Option<string?>("--log-dir") { Description = "Where the log files go (default: a temporary directory, deleted afterwards)." };
        var command = new Command("bench", "Measure the event pipeline: events per second into the JSON log, and the logging overhead on a scenario.")
        {
            events, producers, scenario, duration, pairs, logDir,
        };
        command.SetAction(parse => PipelineBenchmark.Run(Console.Out, parse.GetValue(events), parse.GetValue(producers),
            parse.GetValue(scenario)!, parse.GetValue(duration)!, parse.GetValue(pairs), parse.GetValue(logDir)));
        return command;
    }
}
