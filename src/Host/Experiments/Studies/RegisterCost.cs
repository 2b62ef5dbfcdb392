using System.Diagnostics;
using System.Globalization;
using Hypervisor.Host.Experiments.Output;
using Hypervisor.Host.Experiments.Statistics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// <c>register-cost</c>: <c>mmu_notifier_register</c> (the mmap write lock plus <c>mm_take_all_locks</c>) and
/// <c>mmu_notifier_unregister</c> (release, then the SRCU grace period) against the number of mappings.
/// </summary>
internal sealed class RegisterCost : Experiment
{
    private const int Repetitions = 200;
    private static readonly int[] Mappings = [16, 64, 256, 1024, 4096];
    private static readonly string[] Loads = ["idle", "busy"];

    public override string Name => "register-cost";

    public override string Title => "Registration and unregistration against the number of mappings";

    public override IReadOnlyList<Claim> Claims { get; } =
    [
        new("Until I had the idea of how to implement an mm_lock to ensure the mmu_notifier_register could miss a running invalidate_range_begin, it wasn't even possible to implement a mmu_notifier_unregister",
            "Andrea Arcangeli", "001_7054a1f4bc138a1f.txt"),
        new("so if I would be an admin I'd prefer having to quickly kill -9 a task in O(N) than having to wait some syscall that runs in O(N^2) to complete before the task quits.",
            "Andrea Arcangeli", "001_7054a1f4bc138a1f.txt"),
    ];

    public override string Method =>
        $"""
        An address space with N private anonymous mappings (N = {string.Join(", ", Mappings)}), each touched once so
        that it has its anon_vma (one rmap lock each). A notifier is registered (`mmu_notifier_register`: the mmap
        lock for write, then `mm_take_all_locks`, every rmap lock of every mapping) and unregistered
        (`mmu_notifier_unregister`: `->release`, unhash, then `synchronize_srcu`, the grace period that waits for
        every callback in flight), {Repetitions} times per N and seed, N in an order drawn from the seed. Two loads: idle,
        and busy, where another thread keeps invalidating (`madvise(DONTNEED)` and refault of one page of its own
        mapping), so registration waits for the mmap lock and unregistration for callbacks in flight. Growth is the
        least-squares exponent k of time ∝ N^k (k = 1: linear) with its 95% t-interval.
        """;

    public override void Run(ExperimentContext context)
    {
        var repetitions = context.Scaled(Repetitions, 2);
        foreach (var seed in context.Seeds)
        {
            var random = new Random(seed);
            var order = Mappings.ToArray();
            random.Shuffle(order);
            foreach (var n in order)
            {
                foreach (var load in Loads)
                {
                    Measure(context, seed, n, load == "busy", repetitions);
                }
            }

            context.Progress.WriteLine($"  seed {seed} done");
        }
    }

    private static void Measure(ExperimentContext context, int seed, int mappings, bool busy, int repetitions)
    {
        var host = new HostSystem(new HostOptions { RamBytes = Math.Max(64L << 20, mappings * 4L * (long)Hva.PageSize) });
        var mm = host.CreateAddressSpace("vmm", NotifierProfile.Modern);
        for (var i = 0; i < mappings; i++)
        {
            var at = mm.Mmap(Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
            mm.HostWrite(at, (ulong)i); // anon_vma_prepare: the mapping gets its rmap lock
        }

        // A notifier stays registered so that the busy thread's invalidations run callbacks under SRCU.
        mm.RegisterNotifier(new CountingNotifier(count: false));
        using var stop = new CancellationTokenSource();
        var churn = busy ? StartChurn(mm, stop.Token) : null;
        var load = busy ? "busy" : "idle";
        try
        {
            for (var r = 0; r < repetitions; r++)
            {
                var notifier = new CountingNotifier(count: false);
                var t0 = Stopwatch.GetTimestamp();
                mm.RegisterNotifier(notifier);
                var registered = Stopwatch.GetElapsedTime(t0);
                t0 = Stopwatch.GetTimestamp();
                mm.UnregisterNotifier(notifier);
                var unregistered = Stopwatch.GetElapsedTime(t0);
                context.Record($"register, {load}", "time", "µs", mappings, seed, registered.TotalMicroseconds);
                context.Record($"unregister, {load}", "time", "µs", mappings, seed, unregistered.TotalMicroseconds);
            }
        }
        finally
        {
            stop.Cancel();
            churn?.Join();
        }
    }

    private static Thread StartChurn(AddressSpace mm, CancellationToken stop)
    {
        var at = mm.Mmap(Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        var thread = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                mm.HostWrite(at, 1);
                mm.MadviseDontNeed(at, Hva.PageSize);
            }
        })
        { Name = "register-cost-churn", IsBackground = true };
        thread.Start();
        return thread;
    }

    public override ExperimentOutcome Conclude(ExperimentContext context)
    {
        var variants = new[] { "register, idle", "unregister, idle", "register, busy", "unregister, busy" };
        Estimate At(string v, int n) => Stats.Median(context.Values(v, "time", n));
        GrowthFit Fit(string v)
        {
            var points = Mappings.Select(n => (N: (double)n, T: At(v, n).Median)).Where(p => p.T > 0).ToList();
            return Stats.Growth([.. points.Select(p => p.N)], [.. points.Select(p => p.T)]);
        }

        var fits = variants.ToDictionary(v => v, Fit);
        var times = new ResultTable("Time per call, µs, against the number of mappings N",
            ["N", .. variants],
            [.. Mappings.Select(n => (IReadOnlyList<string>)[n.ToString(CultureInfo.InvariantCulture), .. variants.Select(v => At(v, n).Format("0.#"))])]);
        var growth = new ResultTable("Growth: time ∝ N^k (least squares on the medians, log-log)",
            ["call", "exponent k (95% interval)", "µs per mapping (linear fit)", "R² (linear fit)"],
            [.. variants.Select(v => (IReadOnlyList<string>)[v, fits[v].Exponent.Format("0.##"), fits[v].Slope.ToString("0.###", CultureInfo.InvariantCulture),
                fits[v].RSquared.ToString("0.###", CultureInfo.InvariantCulture)])]);
        static string Shape(Estimate k) => k.Low > 1 ? "faster than linear" : k.High < 1 ? "slower than linear" : "linear: k = 1 lies in the interval";
        var reg = fits["register, idle"];
        var unreg = fits["unregister, idle"];
        var result = string.Create(CultureInfo.InvariantCulture,
            $"Registration grows as N^{reg.Exponent.Median:0.##} (95% interval {reg.Exponent.Low:0.##}–{reg.Exponent.High:0.##}; {Shape(reg.Exponent)}), ")
            + string.Create(CultureInfo.InvariantCulture, $"from {At("register, idle", Mappings[0]).Median:0.#} µs at {Mappings[0]} mappings to {At("register, idle", Mappings[^1]).Median:0.#} µs at {Mappings[^1]}, ")
            + string.Create(CultureInfo.InvariantCulture, $"while unregistration's grace period grows as N^{unreg.Exponent.Median:0.##} ({Shape(unreg.Exponent)}) ")
            + string.Create(CultureInfo.InvariantCulture, $"and costs {At("unregister, busy", Mappings[^1]).Median:0.#} µs with callbacks in flight against {At("unregister, idle", Mappings[^1]).Median:0.#} µs idle at {Mappings[^1]} mappings.");
        var verdict = (reg.Exponent.Low <= 1
                ? "mm_take_all_locks registration is O(N) in the mappings, as a kill -9 of a task is: the O(N) Arcangeli would accept. "
                : "Registration grows faster than linearly: the O(N^2) Arcangeli warned against. ")
            + "Unregister's cost is the grace period, set by the callbacks in flight, not by N.";
        return new ExperimentOutcome(result, verdict, [times, growth],
        [
            new ChartSpec("register-cost.svg", "Register and unregister time against mappings", "mappings N (log)", "µs per call (log)",
                [.. variants.Select(v => new ChartSeries(v, [.. Mappings.Select(n => new ChartPoint(n.ToString(CultureInfo.InvariantCulture), n, At(v, n)))]))],
                LogX: true, LogY: true),
        ]);
    }
}
