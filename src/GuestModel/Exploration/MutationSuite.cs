using System.Globalization;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>
/// Mutation detection made deterministic: every broken variant of the catalogue with the scenario <c>explore</c> finds
/// it on, and a measurement of each (schedules and seconds to the first violation over several run seeds, with the
/// token). <c>hypervisor explore --all-mutations</c> prints the table; the <c>Exploration</c> tests assert it.
/// </summary>
public sealed class MutationSuite(Func<string, Scenario> load, MutationSuiteOptions options)
{
    /// <summary>
    /// Each variant and the scenario (a file of <c>config/scenarios</c>) built to expose it; its <c>deterministic:</c>
    /// section holds the schedule length, access cost and strategy that fit the variant's window.
    /// </summary>
    public static IReadOnlyList<(string Mutation, string Scenario)> Variants { get; } =
    [
        ("no-seq-check", "explore-invalidation.yaml"), ("no-in-progress-check", "explore-invalidation.yaml"),
        ("seq-after-gup", "explore-invalidation.yaml"), ("no-tlb-flush", "explore-invalidation.yaml"), ("no-zap", "explore-invalidation.yaml"),
        ("no-release", "race-hunt.yaml"), ("unregister-without-wait", "race-hunt.yaml"),
        ("legacy-invalidate-after-free", "explore-invalidation.yaml"), ("free-before-invalidate", "explore-invalidation.yaml"),
        ("end-order-swapped", "explore-invalidation.yaml"), ("table-free-before-flush", "explore-invalidation.yaml"),
        ("rmap-walk-without-ptl", "race-hunt.yaml"), ("register-without-pin", "reregister-exit.yaml"),
        ("no-dirty-propagation", "writeback.yaml"), ("xip-unmap-without-notify", "xip.yaml"), ("cluster-range-one-page", "nonlinear-reclaim.yaml"),
        ("no-gpt-write-protect", "shadow-paging.yaml"), ("rmap-zaps-one-alias", "shadow-paging.yaml"), ("no-invlpg-flush", "shadow-paging.yaml"),
        ("table-free-no-sync", "lockless-walkers.yaml"), ("walker-counter-no-barrier", "lockless-walkers.yaml"),
        ("hmm-no-set-seq", "gpu-mirror.yaml"), ("gru-no-purge", "gru.yaml"), ("xpmem-no-ack-wait", "xpmem.yaml"),
        ("xpmem-no-seq-check", "xpmem.yaml"), ("hmm-skip-when-busy", "oom-refusal.yaml"),
        ("fork-keeps-writable-migration-entry", "fork-migration.yaml"), ("mprotect-keeps-writable-migration-entry", "fork-migration.yaml"),
        ("hva-range-first-slot-only", "aliased-memslots.yaml"),
        ("thp-split-no-notify", "thp-churn.yaml"), ("huge-spte-partial-zap", "thp-churn.yaml"),
    ];

    /// <summary>Variants that have no violation by design (they change statistics, not coherence).</summary>
    public static IReadOnlyList<string> WithoutViolation { get; } = ["no-young-propagation"];

    /// <summary>Explores <paramref name="mutation"/> on <paramref name="scenarioFile"/> once per seed, each within the budget.</summary>
    public MutationMeasurement Measure(string mutation, string scenarioFile, Action<string>? progress, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(scenarioFile);
        var path = Path.Combine("config", "scenarios", scenarioFile);
        var scenario = load(path);
        var trials = new List<MutationTrial>();
        for (var k = 0; k < options.Seeds && !cancellation.IsCancellationRequested; k++)
        {
            var seed = scenario.Seed + (ulong)k;
            var explore = new ExploreOptions
            {
                ScenarioPath = path, Schedules = long.MaxValue / 2, Mutation = mutation, Seed = seed, ShrinkRuns = options.ShrinkRuns,
            }.WithScenarioDefaults(scenario.Deterministic);
            using var budget = CpuBudget.Start(options.Budget, cancellation);
            var result = new Explorer(scenario, explore).Run(null, budget.Token);
            var trial = new MutationTrial(seed, result.Violation is not null, result.Violation is { } v ? v.Index + 1 : result.SchedulesRun,
                result.SecondsToViolation ?? result.Seconds, result.CpuSecondsToViolation ?? budget.Spent.TotalSeconds,
                result.Violation?.Token, result.Violation is { Kinds.Count: > 0 } found ? found.Kinds[0] : null, result.Violation?.TraceHash);
            trials.Add(trial);
            progress?.Invoke($"{mutation} on {scenarioFile}, seed {seed}: " + (trial.Found
                ? $"{trial.Kind} after {trial.Schedules} schedules, {trial.Seconds:0.0} s ({trial.CpuSeconds:0.0} s of CPU)"
                : $"not found in {trial.Schedules} schedules ({trial.CpuSeconds:0.0} s of CPU)"));
        }

        return new MutationMeasurement(mutation, scenarioFile, trials);
    }

    /// <summary>Measures every variant of <see cref="Variants"/> (or those <paramref name="only"/> names).</summary>
    public IReadOnlyList<MutationMeasurement> MeasureAll(IReadOnlyCollection<string>? only, Action<string>? progress, CancellationToken cancellation) =>
        [.. Variants.Where(v => only is null || only.Count == 0 || only.Contains(v.Mutation)).TakeWhile(_ => !cancellation.IsCancellationRequested)
            .Select(v => Measure(v.Mutation, v.Scenario, progress, cancellation))];

    /// <summary>Variants of the catalogue that are neither in <see cref="Variants"/> nor in <see cref="WithoutViolation"/>.</summary>
    public static IReadOnlyList<string> Unlisted() =>
        [.. MutationCatalog.Names.Except(Variants.Select(v => v.Mutation)).Except(WithoutViolation)];

    /// <summary>The table as Markdown: one row per variant, medians over the seeds and the first seed's token.</summary>
    public static string Table(IReadOnlyList<MutationMeasurement> rows, MutationSuiteOptions options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        var text = new System.Text.StringBuilder();
        text.AppendLine($"| mutation | scenario | found | schedules (median) | seconds (median) | CPU seconds (median) | first violation | token (first seed) |");
        text.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var token = r.Trials.FirstOrDefault(t => t.Token is not null)?.Token;
            var kind = r.Trials.FirstOrDefault(t => t.Kind is not null)?.Kind ?? "none";
            var shown = token is null ? "-" : $"`{token}`";
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{r.Mutation}` | `{r.Scenario}` | {r.Found}/{r.Trials.Count} | {r.MedianSchedules} | {r.MedianSeconds:0.0} | {r.MedianCpuSeconds:0.0} | {kind} | {shown} |"));
        }

        return text.ToString();
    }
}

/// <summary>How <see cref="MutationSuite"/> measures.</summary>
public sealed record MutationSuiteOptions
{
    /// <summary>Run seeds per variant (the scenario's seed, +1, +2, ...).</summary>
    public int Seeds { get; init; } = 3;

    /// <summary>CPU time each search may take before it counts as not found.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Re-runs allowed for shrinking a found schedule.</summary>
    public int ShrinkRuns { get; init; } = 10;
}

/// <summary>One search: found or not, after how many schedules and seconds, and its token.</summary>
public sealed record MutationTrial(ulong Seed, bool Found, long Schedules, double Seconds, double CpuSeconds, string? Token, string? Kind,
    string? TraceHash);

/// <summary>A variant's searches; medians count a search that found nothing at the budget it spent.</summary>
public sealed record MutationMeasurement(string Mutation, string Scenario, IReadOnlyList<MutationTrial> Trials)
{
    public int Found => Trials.Count(t => t.Found);

    public long MedianSchedules => Median(Trials.Select(t => (double)t.Schedules)) is var m ? (long)m : 0;

    public double MedianSeconds => Median(Trials.Select(t => t.Seconds));

    public double MedianCpuSeconds => Median(Trials.Select(t => t.CpuSeconds));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

/// <summary>
/// A cancellation that fires once the process has spent <c>budget</c> of CPU time: on a machine shared with other
/// jobs the wall clock says little, and a controlled run uses one core at a time, so CPU time is the idle wall time.
/// </summary>
internal sealed class CpuBudget : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly Timer _timer;
    private readonly TimeSpan _start = Environment.CpuUsage.TotalTime;

    private CpuBudget(TimeSpan budget, CancellationToken outer)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _timer = new Timer(_ =>
        {
            try
            {
                if (Spent >= budget)
                {
                    _source.Cancel();
                }
            }
            catch (ObjectDisposedException)
            {
                // The search ended while this tick was on its way.
            }
        }, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
    }

    public CancellationToken Token => _source.Token;

    public TimeSpan Spent => Environment.CpuUsage.TotalTime - _start;

    public static CpuBudget Start(TimeSpan budget, CancellationToken outer) => new(budget, outer);

    public void Dispose()
    {
        _timer.Dispose();
        _source.Dispose();
    }
}
