using System.Diagnostics;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.Host.Pipeline;
using Spectre.Console;

namespace Hypervisor.Host.Cli;

/// <summary>
/// Runs one scenario for <c>hypervisor run</c>, showing live progress on an interactive terminal (elapsed time,
/// accesses per second, invalidations, violations, read from the pipeline's <see cref="LiveTotals"/>). Redirected
/// output gets no progress, only the summary table that follows.
/// </summary>
internal static class RunProgress
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(250);

    public static RunSummary Run(IAnsiConsole console, Scenario scenario, RunOptions options, LiveTotals totals,
        CancellationToken cancellation)
    {
        if (Console.IsOutputRedirected || !console.Profile.Capabilities.Interactive)
        {
            return new ScenarioRunner().Run(scenario, options, cancellation);
        }

        var run = Task.Factory.StartNew(() => new ScenarioRunner().Run(scenario, options, cancellation),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var start = (totals.Accesses, totals.Invalidations, totals.Violations);
        var clock = Stopwatch.StartNew();
        var duration = options.Duration ?? scenario.Duration;
        string Line()
        {
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            var of = duration is { } d ? $" / {d.TotalSeconds:0}s" : string.Empty;
            var violations = totals.Violations - start.Violations;
            return $"{Markup.Escape(scenario.Name)}  {seconds:0.0}s{of}  {(totals.Accesses - start.Accesses) / seconds:N0} accesses/s  "
                + $"{totals.Invalidations - start.Invalidations:N0} invalidations  "
                + (violations == 0 ? "0 violations" : $"[red]{violations:N0} violations[/]");
        }

        console.Status().Spinner(Spinner.Known.Dots).Start(Line(), context =>
        {
            // Named wait: the run's end, polled at the refresh rate of the status line.
            while (!run.Wait(Refresh))
            {
                context.Status(Line());
            }
        });
        return run.GetAwaiter().GetResult();
    }
}
