using System.Diagnostics;
using System.Globalization;
using Hypervisor.Host.Experiments.Output;
using Hypervisor.Host.Experiments.Statistics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// <c>disarmed-cost</c>: what the notifier hooks cost a host operation when nobody listens, when one no-op notifier
/// listens, and when the KVM client does.
/// </summary>
internal sealed class DisarmedCost : Experiment
{
    private const int Pages = 2048;
    private const int Rounds = 200;
    private const int HookCalls = 200_000;
    private static readonly Subscriber[] Subscribers = [Subscriber.None, Subscriber.NoOp, Subscriber.Kvm];
    private static readonly HostOperation[] Operations = Enum.GetValues<HostOperation>();

    /// <summary>The host operations timed, per page.</summary>
    internal enum HostOperation
    {
        HostFault,
        CopyOnWrite,
        Munmap,
        Reclaim,
    }

    public override string Name => "disarmed-cost";

    public override string Title => "The cost of the hooks: disarmed, armed with a no-op, armed with KVM";

    public override IReadOnlyList<Claim> Claims { get; } =
    [
        new("In summary, I think we have narrowed down the case of no registered notifiers to being infinitesimal.", "Robin Holt", "000_84185ae498fa96f9.txt"),
        new("Those branches are conditional upon there being list entries. That check should be extremely cheap.", "Robin Holt", "000_84185ae498fa96f9.txt"),
    ];

    public override string Method =>
        $"""
        Four host operations, timed per page over batches of {Pages} pages (modern profile): the anonymous demand fault
        (`do_anonymous_page`), the copy-on-write fault after fork (`do_wp_page`), `munmap` of a populated region, and
        reclaim swapping pages out (`try_to_unmap_one`); each with no notifier registered (the hooks disarmed: one
        `mm_has_notifiers` test each), one notifier whose callbacks return at once, and the KVM client (one VM whose
        guest mapped every page first). {Rounds} rounds per seed, the three variants in rotating order. The disarmed
        hooks' share of an operation is (range starts per operation, counted) × (time of one disarmed
        `invalidate_range_start`+`end` pair, timed over {HookCalls:N0} calls) ÷ (the operation's time with no
        notifier), one sample per round. Two things make that share an upper bound: the simulator's disarmed pair also
        keeps its own count of open sections (two interlocked operations the kernel does not have), and its operations
        are cheaper than the kernel's (a copy-on-write copies one content word, not 4 KiB).
        """;

    public override void Run(ExperimentContext context)
    {
        var rounds = context.Scaled(Rounds, 2);
        var pages = context.Scaled(Pages, 64);
        var hookCalls = context.Scaled(HookCalls, 1000);
        var startsPerPage = Operations.ToDictionary(op => op, op => StartsPerPage(op, pages));
        foreach (var seed in context.Seeds)
        {
            var rigs = Subscribers.Select(s => new Rig(pages, NotifierProfile.Modern, s)).ToArray();
            using var bare = new Rig(64, NotifierProfile.Modern, Subscriber.None);
            try
            {
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var op in Operations)
                    {
                        for (var i = 0; i < rigs.Length; i++)
                        {
                            var (rig, subscriber) = (rigs[(i + round) % rigs.Length], Subscribers[(i + round) % rigs.Length]);
                            var nanos = TimePerPage(rig, op, (ulong)round);
                            context.Record(Variant(subscriber), "time per page", "ns", (int)op, seed, nanos);
                            if (subscriber == Subscriber.None)
                            {
                                var hook = DisarmedPairNanos(bare, hookCalls);
                                context.Record("disarmed hooks", "share of the operation", "%", (int)op, seed, 100 * startsPerPage[op] * hook / nanos);
                                context.Record("disarmed hooks", "start+end pair", "ns", (int)op, seed, hook);
                            }
                        }
                    }
                }
            }
            finally
            {
                Array.ForEach(rigs, r => r.Dispose());
            }

            context.Progress.WriteLine($"  seed {seed} done");
        }
    }

    /// <summary>Range starts per page of <paramref name="op"/>, counted by a notifier that only counts.</summary>
    internal static double StartsPerPage(HostOperation op, int pages)
    {
        using var rig = new Rig(pages, NotifierProfile.Modern, Subscriber.None);
        var counter = new CountingNotifier();
        rig.Mm.RegisterNotifier(counter);
        Prepare(rig, op, 1, out var child);
        counter.Reset();
        var done = Timed(rig, op);
        var starts = counter.Starts + counter.Pages;
        child?.Exit();
        return (double)starts / Math.Max(1, done);
    }

    private static double TimePerPage(Rig rig, HostOperation op, ulong round)
    {
        Prepare(rig, op, round + 2, out var child);
        var t0 = Stopwatch.GetTimestamp();
        var pages = Timed(rig, op);
        var elapsed = Stopwatch.GetElapsedTime(t0);
        child?.Exit();
        if (op == HostOperation.Munmap && rig.Mm.MmapFixed(rig.Base, rig.Pages * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite) != HostStatus.Ok)
        {
            throw new InvalidOperationException("re-mapping the region after munmap failed");
        }

        return elapsed.TotalNanoseconds / Math.Max(1, pages);
    }

    private static void Prepare(Rig rig, HostOperation op, ulong round, out AddressSpace? child)
    {
        child = null;
        if (op == HostOperation.HostFault)
        {
            // An empty region: the timed writes are first touches.
            rig.Mm.MadviseDontNeed(rig.Base, rig.Pages * Hva.PageSize);
            return;
        }

        rig.HostWriteAll(round << 32);
        if (op == HostOperation.CopyOnWrite)
        {
            child = rig.Mm.Fork("child");
        }

        rig.GuestTouchAll();
    }

    /// <summary>Runs the operation over the region; returns the pages it handled.</summary>
    private static long Timed(Rig rig, HostOperation op)
    {
        switch (op)
        {
            case HostOperation.HostFault:
            case HostOperation.CopyOnWrite:
                for (ulong p = 0; p < rig.Pages; p++)
                {
                    if (rig.Mm.HostWrite(rig.At(p), ~p) != HostStatus.Ok)
                    {
                        throw new InvalidOperationException("host write failed");
                    }
                }

                return (long)rig.Pages;
            case HostOperation.Munmap:
                rig.Mm.Munmap(rig.Base, rig.Pages * Hva.PageSize);
                return (long)rig.Pages;
            default:
                return rig.ReclaimPages((long)rig.Pages);
        }
    }

    /// <summary>One disarmed <c>invalidate_range_start</c> + <c>end</c> on an address space with no notifier, in ns.</summary>
    private static double DisarmedPairNanos(Rig bare, int calls)
    {
        var range = NotifierRange.OnePage(bare.Base, NotifierEvent.Clear, InvalidationCause.CopyOnWrite);
        var chain = bare.Mm.Notifiers;
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            if (chain.InvalidateRangeStart(range))
            {
                chain.InvalidateRangeEnd(range);
            }
        }

        return Stopwatch.GetElapsedTime(t0).TotalNanoseconds / calls;
    }

    public override ExperimentOutcome Conclude(ExperimentContext context)
    {
        Estimate Time(Subscriber s, HostOperation op) => Stats.Median(context.Values(Variant(s), "time per page", (int)op));
        Estimate Change(Subscriber s, HostOperation op) => Stats.PercentChange(context.Values(Variant(Subscriber.None), "time per page", (int)op), context.Values(Variant(s), "time per page", (int)op));
        Estimate Share(HostOperation op) => Stats.Median(context.Values("disarmed hooks", "share of the operation", (int)op));
        var times = new ResultTable("Time per page, ns",
            ["operation", .. Subscribers.Select(Variant)],
            [.. Operations.Select(op => (IReadOnlyList<string>)[Label(op), .. Subscribers.Select(s => Time(s, op).Format("0.#"))])]);
        var changes = new ResultTable("Cost over no notifier, and the disarmed hooks' share of the operation",
            ["operation", "one no-op notifier", "KVM client", "disarmed hooks' share"],
            [.. Operations.Select(op => (IReadOnlyList<string>)[Label(op), InvalidatePageVsRange.Percent(Change(Subscriber.NoOp, op)),
                InvalidatePageVsRange.Percent(Change(Subscriber.Kvm, op)), Share(op).Count == 0 ? "–" : $"{Share(op).Format("0.###")}%"])]);
        var pair = Stats.Median(context.Values("disarmed hooks", "start+end pair", (int)HostOperation.HostFault));
        var maxShare = Operations.Select(Share).MaxBy(e => e.High);
        var result = string.Create(CultureInfo.InvariantCulture,
            $"With no notifier registered the hooks cost {pair.Format("0.#")} ns per start/end pair, at most {maxShare.Format("0.###")}% of a host operation; ")
            + $"one no-op notifier adds {string.Join(", ", Operations.Select(op => $"{InvalidatePageVsRange.Percent(Change(Subscriber.NoOp, op))} ({Short(op)})"))}, "
            + $"and the KVM client {string.Join(", ", Operations.Select(op => $"{InvalidatePageVsRange.Percent(Change(Subscriber.Kvm, op))} ({Short(op)})"))}.";
        var verdict = maxShare.High < 1
            ? string.Create(CultureInfo.InvariantCulture, $"Disarmed: below 1% of every operation (upper bound {maxShare.High:0.###}%): infinitesimal, as Holt said. Armed, the cost is the client's, not the hooks'.")
            : string.Create(CultureInfo.InvariantCulture, $"Disarmed: up to {maxShare.High:0.##}% of an operation here, an upper bound (the simulator's cheap operations and its own section count inflate it): small but measurable, not infinitesimal. Armed, the cost is the client's: the no-op notifier adds far more than the disarmed hooks.");
        return new ExperimentOutcome(result, verdict, [times, changes],
        [
            new ChartSpec("time-per-page.svg", "Host operation time per page", "operation", "ns per page (log)",
                [.. Subscribers.Select(s => new ChartSeries(Variant(s), [.. Operations.Select(op => new ChartPoint(Short(op), null, Time(s, op)))]))], LogY: true),
            new ChartSpec("disarmed-share.svg", "Disarmed hooks' share of each operation", "operation", "% of the operation",
                [new ChartSeries("disarmed hooks", [.. Operations.Select(op => new ChartPoint(Short(op), null, Share(op)))])]),
        ]);
    }

    private static string Variant(Subscriber s) => s switch
    {
        Subscriber.None => "no notifier",
        Subscriber.NoOp => "one no-op notifier",
        _ => "KVM client",
    };

    private static string Label(HostOperation op) => op switch
    {
        HostOperation.HostFault => "anonymous host fault (do_anonymous_page)",
        HostOperation.CopyOnWrite => "copy-on-write fault (do_wp_page)",
        HostOperation.Munmap => "munmap of a populated region",
        _ => "reclaim swap-out (try_to_unmap_one)",
    };

    private static string Short(HostOperation op) => op switch
    {
        HostOperation.HostFault => "fault",
        HostOperation.CopyOnWrite => "COW",
        HostOperation.Munmap => "munmap",
        _ => "reclaim",
    };
}
