using System.Diagnostics;
using System.Globalization;
using Hypervisor.Host.Experiments.Output;
using Hypervisor.Host.Experiments.Statistics;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// <c>invalidate-page-vs-range</c>: the 2008 single-page callback against a start/end pair at the single-page call
/// sites: callbacks per operation (exact), the secondary's masked window, and host throughput with a KVM client.
/// </summary>
internal sealed class InvalidatePageVsRange : Experiment
{
    private const int Pages = 2048;
    private const int Rounds = 300;
    private static readonly NotifierProfile[] Profiles = [NotifierProfile.Legacy2008, NotifierProfile.Modern];

    public override string Name => "invalidate-page-vs-range";

    public override string Title => "invalidate_page versus a start/end pair";

    public override IReadOnlyList<Claim> Claims { get; } =
    [
        new("I would argue you would be hard pressed to even measure the difference.", "Robin Holt", "000_84185ae498fa96f9.txt"),
        new("invalidate_page as demonstrated in KVM pseudocode doesn't change the locking requirements, and it has the benefit of reducing the window of time the secondary page fault has to be masked and at the same time _halves_ the number of _hooks_ in the VM every time the VM deal with single pages (example: do_wp_page hot path).",
            "Andrea Arcangeli", "003_13f8c904d14b3559.txt"),
    ];

    public override string Method =>
        $"""
        Three single-page call sites, each under both notifier profiles (`legacy2008`: `invalidate_page` after the PTE
        change; `modern`: `invalidate_range_start`/`end` around it): copy-on-write (`do_wp_page`, the parent writing
        pages shared with a fork child), reclaim (`try_to_unmap_one`, swapping anonymous pages out) and writeback
        (`page_mkclean_one`, cleaning a shared file mapping). (1) Invalidation callbacks per operation, counted by a
        notifier that only counts: exact. (2) The masked window: the time during which a KVM fault on the page must
        retry (from `kvm_mmu_invalidate_begin` to the end that brings `mmu_invalidate_in_progress` back to zero; for
        `invalidate_page`, its hold of the MMU lock), per operation. (3) Throughput: single-page operations per second
        over batches of {Pages} pages, every page mapped by the KVM client first. {Rounds} rounds per seed, the two
        profiles alternating (which goes first alternates too); page order drawn from the seed.
        """;

    /// <summary>
    /// Runs <paramref name="pages"/> single-page operations at <paramref name="site"/> in <paramref name="profile"/>
    /// with one counting notifier registered; returns the operations made and the invalidation callbacks it received.
    /// </summary>
    public static (long Operations, long Callbacks) CountCallbacks(NotifierProfile profile, SinglePageSite site, int pages, int seed = 1)
    {
        using var rig = new Rig(pages, profile, Subscriber.None, SinglePageWorkload.FileBacked(site));
        var counter = new CountingNotifier();
        rig.Mm.RegisterNotifier(counter);
        var child = SinglePageWorkload.Prepare(rig, site, 1);
        counter.Reset();
        var operations = SinglePageWorkload.Run(rig, site, SinglePageWorkload.Shuffled(rig.Pages, new Random(seed)));
        var callbacks = counter.Callbacks;
        SinglePageWorkload.Finish(child);
        return (operations, callbacks);
    }

    public override void Run(ExperimentContext context)
    {
        var rounds = context.Scaled(Rounds, 2);
        var pages = context.Scaled(Pages, 64);
        foreach (var seed in context.Seeds)
        {
            foreach (var site in Enum.GetValues<SinglePageSite>())
            {
                foreach (var profile in Profiles)
                {
                    var (operations, callbacks) = CountCallbacks(profile, site, pages, seed);
                    context.Record(ProfileName(profile), "callbacks per operation", "callbacks", (int)site, seed, (double)callbacks / operations);
                }

                var random = new Random(seed);
                var rigs = Profiles.Select(p => new Rig(pages, p, Subscriber.Kvm, SinglePageWorkload.FileBacked(site))).ToArray();
                try
                {
                    for (var round = 0; round < rounds; round++)
                    {
                        var order = SinglePageWorkload.Shuffled((ulong)pages, random);
                        for (var i = 0; i < rigs.Length; i++)
                        {
                            var rig = rigs[(i + round) % rigs.Length];
                            Measure(context, rig, site, order, seed, (ulong)round);
                        }
                    }
                }
                finally
                {
                    Array.ForEach(rigs, r => r.Dispose());
                }
            }

            context.Progress.WriteLine($"  seed {seed} done");
        }
    }

    private static void Measure(ExperimentContext context, Rig rig, SinglePageSite site, ulong[] order, int seed, ulong round)
    {
        var child = SinglePageWorkload.Prepare(rig, site, round + 2);
        var vm = rig.Vm!;
        var (masked, windows) = (vm.MaskedTime, vm.MaskedWindows);
        var t0 = Stopwatch.GetTimestamp();
        var operations = SinglePageWorkload.Run(rig, site, order);
        var elapsed = Stopwatch.GetElapsedTime(t0);
        SinglePageWorkload.Finish(child);
        var variant = ProfileName(rig.Mm.Profile);
        var x = (int)site;
        if (operations > 0)
        {
            context.Record(variant, "throughput", "k operations/s", x, seed, operations / elapsed.TotalMilliseconds);
        }

        var newWindows = vm.MaskedWindows - windows;
        if (newWindows > 0)
        {
            context.Record(variant, "masked window", "µs", x, seed, (vm.MaskedTime - masked).TotalMicroseconds / newWindows);
        }
    }

    public override ExperimentOutcome Conclude(ExperimentContext context)
    {
        var sites = Enum.GetValues<SinglePageSite>();
        var legacy = ProfileName(NotifierProfile.Legacy2008);
        var modern = ProfileName(NotifierProfile.Modern);
        Estimate Of(string variant, string metric, SinglePageSite site) => Stats.Median(context.Values(variant, metric, (int)site));
        Estimate Change(string metric, SinglePageSite site) =>
            Stats.PercentChange(context.Values(legacy, metric, (int)site), context.Values(modern, metric, (int)site));

        var callbacks = new ResultTable("Invalidation callbacks per single-page operation (exact; every seed gives the same)",
            ["call site", "legacy2008", "modern", "modern / legacy2008"],
            [.. sites.Select(s => (IReadOnlyList<string>)[SinglePageWorkload.Label(s), Of(legacy, "callbacks per operation", s).Format("0.###"),
                Of(modern, "callbacks per operation", s).Format("0.###"),
                Ratio(Of(modern, "callbacks per operation", s).Median, Of(legacy, "callbacks per operation", s).Median)])]);
        var window = new ResultTable("Masked window per single-page operation, µs (a KVM fault on the page retries during it)",
            ["call site", "legacy2008", "modern", "modern vs legacy2008"],
            [.. sites.Select(s => (IReadOnlyList<string>)[SinglePageWorkload.Label(s), Of(legacy, "masked window", s).Format("0.###"),
                Of(modern, "masked window", s).Format("0.###"), Percent(Change("masked window", s))])]);
        var throughput = new ResultTable("Throughput, thousand single-page operations per second, KVM client mapping every page",
            ["workload", "legacy2008", "modern", "modern vs legacy2008"],
            [.. sites.Select(s => (IReadOnlyList<string>)[SinglePageWorkload.Label(s), Of(legacy, "throughput", s).Format("0.#"),
                Of(modern, "throughput", s).Format("0.#"), Percent(Change("throughput", s))])]);

        ChartSpec Chart(string file, string title, string metric, string unit) => new(file, title, "call site", unit,
            [.. new[] { legacy, modern }.Select(v => new ChartSeries(v, [.. sites.Select(s => new ChartPoint(SinglePageWorkload.Short(s), null, Of(v, metric, s)))]))]);

        var pageCallbacks = sites.Select(s => Of(legacy, "callbacks per operation", s).Median).Distinct().ToList();
        var pairCallbacks = sites.Select(s => Of(modern, "callbacks per operation", s).Median).Distinct().ToList();
        var windowChanges = sites.Select(s => Change("masked window", s)).ToList();
        var throughputChanges = sites.Select(s => Change("throughput", s)).ToList();
        var result = string.Create(CultureInfo.InvariantCulture,
            $"A single-page operation runs {string.Join("/", pageCallbacks)} callback(s) under legacy2008 and {string.Join("/", pairCallbacks)} under modern at every site; ")
            + $"the masked window changes by {string.Join(", ", sites.Select((s, i) => $"{Percent(windowChanges[i])} ({SinglePageWorkload.Short(s)})"))} going from invalidate_page to a start/end pair, "
            + $"and throughput by {string.Join(", ", sites.Select((s, i) => $"{Percent(throughputChanges[i])} ({SinglePageWorkload.Short(s)})"))}.";
        var measurable = throughputChanges.Where(c => c.Excludes(0)).ToList();
        var verdict = (pairCallbacks.SequenceEqual([2.0]) && pageCallbacks.SequenceEqual([1.0]) ? "Hooks: exactly halved, as Arcangeli said. " : "Hooks: not exactly halved. ")
            + (windowChanges.All(c => c.Low > 0) ? "Masked window: longer with the pair at every site (Arcangeli). " : "Masked window: not longer with the pair at every site. ")
            + (measurable.Count == 0
                ? "Throughput: no difference outside the 95% intervals at any site (Holt: hard pressed to measure it)."
                : $"Throughput: a difference outside the 95% interval at {measurable.Count} of {sites.Length} sites, so it can be measured, against Holt.");
        return new ExperimentOutcome(result, verdict, [callbacks, window, throughput],
        [
            Chart("callbacks.svg", "Invalidation callbacks per single-page operation", "callbacks per operation", "callbacks"),
            Chart("masked-window.svg", "Masked window per single-page operation", "masked window", "µs"),
            Chart("throughput.svg", "Single-page operations per second with a KVM client", "throughput", "k operations/s"),
        ]);
    }

    internal static string ProfileName(NotifierProfile profile) => profile == NotifierProfile.Legacy2008 ? "legacy2008" : "modern";

    internal static string Percent(Estimate e) => e.Count == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{e.Median:+0.#;-0.#;0}% ({e.Low:+0.#;-0.#;0}% to {e.High:+0.#;-0.#;0}%)");

    private static string Ratio(double a, double b) => b == 0 ? "–" : (a / b).ToString("0.###", CultureInfo.InvariantCulture);
}
