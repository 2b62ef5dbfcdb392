using System.Diagnostics;
using System.Globalization;
using Hypervisor.Host.Experiments.Output;
using Hypervisor.Host.Experiments.Statistics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.Mirrors.Xpmem;
using Hypervisor.ShadowMmu;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// <c>sleepable-notifiers</c>: an XPMEM-like export whose remote importer acknowledges purges after a latency; what
/// the sleeping callback costs the host operation and the KVM client sharing the address space.
/// </summary>
internal sealed class SleepableNotifiers : Experiment
{
    private const int Pages = 256;
    private const int Rounds = 600;
    private const string XpmemFirst = "XPMEM called before KVM";
    private const string KvmFirst = "KVM called before XPMEM";
    private static readonly int[] LatenciesMicros = [0, 10, 30, 100];

    public override string Name => "sleepable-notifiers";

    public override string Title => "Sleeping notifiers: an XPMEM remote importer's latency, paid by whom";

    public override IReadOnlyList<Claim> Claims { get; } =
    [
        new("Then in .26 we'll modify the semantics of the API to be blocking starting with the below patchx.", "Andrea Arcangeli", "002_88bd353e1b3229dc.txt"),
        new("This does represent a risk to XPMEM as the non-sleeping API may become entrenched and make acceptance of the sleeping version less acceptable.", "Robin Holt", "003_13f8c904d14b3559.txt"),
        new("As said 1/N isn't enough for XPMEM anyway.", "Andrea Arcangeli", "001_7054a1f4bc138a1f.txt"),
    ];

    public override string Method =>
        $"""
        One VMM address space mirrored by two secondary MMUs: the KVM client (one VM over a {Pages}-page region) and an
        XPMEM-like export of the same region to an importer on a remote partition, whose purge messages are handled
        after a one-way latency L (L = {string.Join(", ", LatenciesMicros)} µs; 0 is the hand-off to the remote's thread
        and back) while the exporter's `invalidate_range_start` sleeps for the acknowledgement, as XPMEM's must. Each
        round the guest and the remote importer map one page, then the host drops it (`madvise(DONTNEED)`, one range
        start/end). Measured per operation: the host operation's time, and the KVM client's masked window (the time a
        KVM fault on that page must retry: its section stays open while the XPMEM callback sleeps). Both registration orders: the chain calls the newest subscription first
        (`hlist_add_head_rcu`), so the export registered after the VM is called before KVM, and registered before it is
        called after KVM. Baseline: the same with no XPMEM export. {Rounds} rounds per latency and seed, the latencies in an order drawn from the seed.
        """;

    public override void Run(ExperimentContext context)
    {
        var rounds = context.Scaled(Rounds, 4);
        foreach (var seed in context.Seeds)
        {
            var random = new Random(seed);
            var cells = LatenciesMicros.SelectMany(l => new (int? Latency, bool XpmemFirst)[] { (l, true), (l, false) }).Append((null, false)).ToArray();
            random.Shuffle(cells);
            foreach (var (latency, xpmemFirst) in cells)
            {
                Measure(context, seed, latency, xpmemFirst, rounds, random);
            }

            context.Progress.WriteLine($"  seed {seed} done");
        }
    }

    /// <summary>
    /// One cell. With <paramref name="xpmemFirst"/> the export registers after the VM, so its callbacks run first (the chain calls the newest subscription first,
    /// as <c>hlist_add_head_rcu</c> orders it): KVM's section opens only after the remote acknowledged. Otherwise
    /// KVM's runs first and stays open while the export sleeps.
    /// </summary>
    private static void Measure(ExperimentContext context, int seed, int? latencyMicros, bool xpmemFirst, int rounds, Random random)
    {
        using var remote = latencyMicros is { } l ? new RemotePartition("node1", TimeSpan.FromMicroseconds(l)) : null;
        XpmemSegment? segment = null;
        using var rig = new Rig(Pages, NotifierProfile.Modern, Subscriber.Kvm,
            beforeSubscriber: remote is null || xpmemFirst ? null : (mm, at) => segment = new XpmemSegment(mm, at, (ulong)Pages, "segment"));
        if (remote is not null && xpmemFirst)
        {
            segment = new XpmemSegment(rig.Mm, rig.Base, (ulong)Pages, "segment");
        }

        var attachment = remote is null ? null : segment!.Attach("remote", remote);
        var variant = latencyMicros is null ? "KVM only" : xpmemFirst ? XpmemFirst : KvmFirst;
        var x = latencyMicros ?? 0;
        var vm = rig.Vm!;
        var vcpu = vm.Vcpus[0];
        var warmUp = Math.Max(2, rounds / 10);
        for (var r = 0; r < warmUp + rounds; r++)
        {
            var page = (ulong)random.Next(Pages);
            rig.Mm.HostWrite(rig.At(page), (ulong)r);
            vcpu.EnterGuest();
            vcpu.Access(new Gfn(page), write: false, 0);
            vcpu.ExitGuest();
            attachment?.Read(page, out _);
            var (masked, windows) = (vm.MaskedTime, vm.MaskedWindows);
            var t0 = Stopwatch.GetTimestamp();
            rig.Mm.MadviseDontNeed(rig.At(page), Hva.PageSize);
            var elapsed = Stopwatch.GetElapsedTime(t0);
            if (r < warmUp)
            {
                continue;
            }

            context.Record(variant, "host operation", "µs", x, seed, elapsed.TotalMicroseconds);
            if (vm.MaskedWindows > windows)
            {
                context.Record(variant, "KVM masked window", "µs", x, seed, (vm.MaskedTime - masked).TotalMicroseconds / (vm.MaskedWindows - windows));
            }
        }

        if (rig.Host.Violations.Total != 0)
        {
            throw new InvalidOperationException($"{rig.Host.Violations.Total} violations with an XPMEM latency of {latencyMicros} µs");
        }
    }

    public override ExperimentOutcome Conclude(ExperimentContext context)
    {
        Estimate At(string variant, string metric, int l) => Stats.Median(context.Values(variant, metric, l));
        var baseHost = Stats.Median(context.Values("KVM only", "host operation"));
        var baseMasked = Stats.Median(context.Values("KVM only", "KVM masked window"));
        var orders = new[] { XpmemFirst, KvmFirst };
        var table = new ResultTable("One-page madvise(DONTNEED) with the KVM client and a remote XPMEM importer, µs",
            ["remote latency", .. orders.SelectMany(o => new[] { $"host operation ({o})", $"KVM masked window ({o})" })],
            [
                ["no XPMEM export", baseHost.Format("0.##"), baseMasked.Format("0.##"), baseHost.Format("0.##"), baseMasked.Format("0.##")],
                .. LatenciesMicros.Select(l => (IReadOnlyList<string>)[$"{l} µs",
                    .. orders.SelectMany(o => new[] { At(o, "host operation", l).Format("0.##"), At(o, "KVM masked window", l).Format("0.##") })]),
            ]);
        double Slope(string variant, string metric) => Fit(LatenciesMicros, l => At(variant, metric, l).Median);
        var top = LatenciesMicros[^1];
        var result = string.Create(CultureInfo.InvariantCulture,
            $"A remote importer's latency L is paid in full by the host operation ({Slope(XpmemFirst, "host operation"):0.##} µs per µs of L; {At(XpmemFirst, "host operation", top).Median:0.#} µs at L = {top} µs against {baseHost.Median:0.##} µs with no export), ")
            + string.Create(CultureInfo.InvariantCulture, $"and by the KVM client sharing the address space when its callback runs first ({Slope(KvmFirst, "KVM masked window"):0.##} µs of masked window per µs of L, {At(KvmFirst, "KVM masked window", top).Median:0.#} µs at {top} µs) ")
            + string.Create(CultureInfo.InvariantCulture, $"but not when the sleeper runs first ({Slope(XpmemFirst, "KVM masked window"):0.##} µs per µs; {At(XpmemFirst, "KVM masked window", top).Median:0.##} µs against {baseMasked.Median:0.##} µs).");
        var verdict = string.Create(CultureInfo.InvariantCulture,
            $"Sleeping notifiers work (no violation at any latency), and the sleeper's latency is the host operation's; whether another secondary MMU pays it too depends only on registration order (the newest subscriber is called first): it does when the sleeper was registered first.");
        ChartSeries Series(string name, string variant, string metric) =>
            new(name, [.. LatenciesMicros.Select(l => new ChartPoint(l.ToString(CultureInfo.InvariantCulture), l, At(variant, metric, l)))]);
        return new ExperimentOutcome(result, verdict, [table],
        [
            new ChartSpec("sleepable.svg", "Cost of a remote importer's latency", "remote latency L, µs", "µs per one-page invalidation",
            [
                Series("host operation", XpmemFirst, "host operation"),
                Series("KVM masked, KVM first", KvmFirst, "KVM masked window"),
                Series("KVM masked, XPMEM first", XpmemFirst, "KVM masked window"),
            ]),
        ]);
    }

    private static double Fit(int[] latencies, Func<int, double> median) =>
        MathNet.Numerics.Fit.Line([.. latencies.Select(l => (double)l)], [.. latencies.Select(median)]).B;
}
