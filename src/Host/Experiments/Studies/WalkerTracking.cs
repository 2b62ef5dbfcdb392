using System.Diagnostics;
using System.Globalization;
using Hypervisor.Host.Experiments.Output;
using Hypervisor.Host.Experiments.Statistics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// <c>walker-tracking</c>: munmap latency and lockless-walker cost against the number of walker threads, under the
/// three ways of keeping freed page tables from lockless walkers (IPI, RCU, the 2019 walker counter).
/// </summary>
internal sealed class WalkerTracking : Experiment
{
    private const int Pages = 1024; // two last-level tables
    private const int Rounds = 600;
    private static readonly int[] WalkerCounts = [0, 1, 2, 4];
    private static readonly TableFreeScheme[] Schemes = [TableFreeScheme.Ipi, TableFreeScheme.Rcu, TableFreeScheme.WalkerCounter];

    public override string Name => "walker-tracking";

    public override string Title => "Lockless walkers against page-table freeing: IPI, RCU, walker counter";

    public override IReadOnlyList<Claim> Claims { get; } =
    [
        new("This will not work for file backed THP. Also, this is a fairly serious contention point all on its own.", "Peter Zijlstra", "004_534866160b219fae.txt"),
        new("And I still think all that wrong, you really shouldn't need to wait on munmap().", "Peter Zijlstra", "004_534866160b219fae.txt"),
    ];

    public override string Method =>
        $"""
        An address space with a region of {Pages} pages (two last-level page tables), populated, then unmapped (`munmap`:
        zap, `free_pgtables`, the tables freed through the mmu_gather under the host's scheme) and mapped again,
        {Rounds} times per cell; meanwhile W walker threads (W = {string.Join(", ", WalkerCounts)}) run `gup_fast`
        (`get_user_page_fast_only`, interrupts off on a model CPU, no lock) on random pages of that region, dropping each
        reference they get. Schemes: `ipi` (the shootdown IPI waits for every CPU with interrupts off), `rcu`
        (`MMU_GATHER_RCU_TABLE_FREE`: tables freed after a grace period, munmap does not wait), `walker-counter`
        (Bras's 2019 proposal: walkers `atomic_inc`/`atomic_dec` a per-mm count with full barriers, munmap sends the IPI
        only while it is non-zero). Measured: munmap time, and the walkers' time per walk over each round (wall time × walkers ÷ walks, so
        time a walker could not run counts), and the latency of `khugepaged`'s `collapse_huge_page` of the region's first
        2 MiB filled with 4 KiB pages (range start, PMD cleared and flushed, `tlb_remove_table_sync_one` — the point
        where the scheme must make lockless walkers of the old table finish — then copy and the huge PMD) with the
        share of collapses that gave up because a walker held a reference. Schemes and walker counts in an order drawn from the seed.
        """;

    public override void Run(ExperimentContext context)
    {
        var rounds = context.Scaled(Rounds, 4);
        foreach (var seed in context.Seeds)
        {
            var random = new Random(seed);
            var cells = Schemes.SelectMany(s => WalkerCounts.Select(w => (Scheme: s, Walkers: w))).ToArray();
            random.Shuffle(cells);
            foreach (var (scheme, walkers) in cells)
            {
                Measure(context, seed, scheme, walkers, rounds);
            }

            context.Progress.WriteLine($"  seed {seed} done");
        }
    }

    private static void Measure(ExperimentContext context, int seed, TableFreeScheme scheme, int walkers, int rounds)
    {
        var host = new HostSystem(new HostOptions { RamBytes = 64L << 20, TableFree = scheme, Cpus = 8 });
        var mm = host.CreateAddressSpace("vmm", NotifierProfile.Modern);
        // The region starts on a 2 MiB boundary (inside a mapping 2 MiB larger) so that its first half can collapse.
        var mapped = mm.Mmap((ulong)Pages * Hva.PageSize + AddressSpace.HugePageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        var at = new Hva((mapped.Value + AddressSpace.HugePageSize - 1) & ~(AddressSpace.HugePageSize - 1));
        mm.Thp = ThpMode.Never; // faults map 4 KiB pages; only the timed collapse turns huge pages on
        using var stop = new CancellationTokenSource();
        var counts = new long[walkers];
        var threads = Enumerable.Range(0, walkers).Select(w => new Thread(() => Walk(mm, at, seed * 31 + w, counts, w, stop.Token))
        {
            Name = $"walker-{w}",
            IsBackground = true,
        }).ToList();
        threads.ForEach(t => t.Start());
        var variant = SchemeName(scheme);
        var warmUp = Math.Max(2, rounds / 10);
        try
        {
            for (var r = 0; r < warmUp + rounds; r++)
            {
                var walksBefore = Sum(counts);
                var roundStart = Stopwatch.GetTimestamp();
                for (ulong p = 0; p < Pages; p++)
                {
                    mm.HostWrite(at.AddPages(p), p);
                }

                var t0 = Stopwatch.GetTimestamp();
                mm.Munmap(at, (ulong)Pages * Hva.PageSize);
                var munmap = Stopwatch.GetElapsedTime(t0);
                if (mm.MmapFixed(at, (ulong)Pages * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite) != HostStatus.Ok)
                {
                    throw new InvalidOperationException("re-mapping the region failed");
                }

                if (r < warmUp)
                {
                    continue; // compiled code and warm caches for every cell alike
                }

                context.Record(variant, "munmap", "µs", walkers, seed, munmap.TotalMicroseconds);
                var collapse = TimeCollapse(mm, at);
                if (collapse is { } took)
                {
                    context.Record(variant, "collapse", "µs", walkers, seed, took.TotalMicroseconds);
                }

                context.Record(variant, "collapse failed", "share", walkers, seed, collapse is null ? 1 : 0);
                var walks = Sum(counts) - walksBefore;
                if (walks > 0)
                {
                    // Walker time per walk over the round: every walker thread's share of the wall time.
                    context.Record(variant, "time per walk", "ns", walkers, seed, Stopwatch.GetElapsedTime(roundStart).TotalNanoseconds * walkers / walks);
                }
            }
        }
        finally
        {
            stop.Cancel();
            threads.ForEach(t => t.Join());
        }

        if (host.Violations.Total != 0)
        {
            throw new InvalidOperationException($"the {variant} scheme reported {host.Violations.Total} violations: the experiment measures correct schemes only");
        }
    }

    /// <summary>
    /// Fills the region's first 2 MiB with 4 KiB pages and times khugepaged's <c>collapse_huge_page</c> of it (range
    /// start, PMD cleared and flushed, then the lockless-walker sync the scheme provides, copy, huge PMD installed);
    /// then unmaps and maps the region again so the next round's munmap meets small pages only. Null when the collapse
    /// gave up (a walker's reference on a page, as the kernel's refcount check would).
    /// </summary>
    private static TimeSpan? TimeCollapse(AddressSpace mm, Hva at)
    {
        const ulong half = AddressSpace.HugePageSize / Hva.PageSize;
        for (ulong p = 0; p < half; p++)
        {
            mm.HostWrite(at.AddPages(p), p);
        }

        mm.Thp = ThpMode.Always;
        var t0 = Stopwatch.GetTimestamp();
        var collapsed = mm.TryCollapseHugePage(at);
        var took = Stopwatch.GetElapsedTime(t0);
        mm.Thp = ThpMode.Never;
        mm.Munmap(at, (ulong)Pages * Hva.PageSize);
        if (mm.MmapFixed(at, (ulong)Pages * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite) != HostStatus.Ok)
        {
            throw new InvalidOperationException("re-mapping the region failed");
        }

        return collapsed ? took : null;
    }

    private static long Sum(long[] counts)
    {
        long sum = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            sum += Volatile.Read(ref counts[i]);
        }

        return sum;
    }

    private static void Walk(AddressSpace mm, Hva at, int seed, long[] counts, int index, CancellationToken stop)
    {
        var random = new Random(seed);
        long walks = 0;
        while (!stop.IsCancellationRequested)
        {
            var page = (ulong)random.Next(Pages);
            if (mm.TryGetUserPageFast(at.AddPages(page), write: false, out var got))
            {
                mm.Host.Memory.Put(got.Pfn);
            }

            if ((++walks & 63) == 0)
            {
                Volatile.Write(ref counts[index], walks);
            }
        }
    }

    public override ExperimentOutcome Conclude(ExperimentContext context)
    {
        Estimate At(TableFreeScheme s, string metric, int w) => Stats.Median(context.Values(SchemeName(s), metric, w));
        var munmap = new ResultTable("munmap of a populated region (two page tables), µs, against walker threads",
            ["walkers", .. Schemes.Select(SchemeName)],
            [.. WalkerCounts.Select(w => (IReadOnlyList<string>)[w.ToString(CultureInfo.InvariantCulture), .. Schemes.Select(s => At(s, "munmap", w).Format("0.#"))])]);
        var walkersWithThreads = WalkerCounts.Where(w => w > 0).ToArray();
        var walk = new ResultTable("Time per lockless walk (gup_fast), ns, per walker thread",
            ["walkers", .. Schemes.Select(SchemeName)],
            [.. walkersWithThreads.Select(w => (IReadOnlyList<string>)[w.ToString(CultureInfo.InvariantCulture), .. Schemes.Select(s => At(s, "time per walk", w).Format("0.#"))])]);
        var most = WalkerCounts[^1];
        Estimate MunmapChange(TableFreeScheme s) => Stats.PercentChange(context.Values(SchemeName(TableFreeScheme.Rcu), "munmap", most), context.Values(SchemeName(s), "munmap", most));
        Estimate WalkChange(int w) => Stats.PercentChange(context.Values(SchemeName(TableFreeScheme.Rcu), "time per walk", w), context.Values(SchemeName(TableFreeScheme.WalkerCounter), "time per walk", w));
        var counterCost = WalkChange(most);
        var result = string.Create(CultureInfo.InvariantCulture,
            $"With {most} walker threads munmap takes {At(TableFreeScheme.Ipi, "munmap", most).Format("0.#")} µs under ipi, {At(TableFreeScheme.Rcu, "munmap", most).Format("0.#")} µs under rcu and {At(TableFreeScheme.WalkerCounter, "munmap", most).Format("0.#")} µs under walker-counter; ")
            + $"the counter changes a walker's time per walk against rcu by {string.Join(", ", walkersWithThreads.Select(w => $"{InvalidatePageVsRange.Percent(WalkChange(w))} with {w}"))}.";
        var ipiWaits = MunmapChange(TableFreeScheme.Ipi);
        var verdict = (ipiWaits.Low > 0 ? "munmap waits for walkers under ipi and not under rcu (Zijlstra: it shouldn't need to wait). " : "munmap's wait for walkers under ipi is not measurable against rcu here. ")
            + (counterCost.Low > 0
                ? "The atomic counter costs walkers measurably"
                : counterCost.High < 0
                    ? "Walkers were not slower under the atomic counter than under rcu (faster, outside the interval)"
                    : "The atomic counter's cost to walkers is inside the noise")
            + " on this 2-core machine, where at most two walkers run at once: the contention Zijlstra meant grows with CPUs sharing the counter's cache line, which two cores cannot show.";
        var collapse = new ResultTable("THP collapse of 2 MiB (khugepaged), µs, and share of collapses that gave up, against walker threads",
            ["walkers", .. Schemes.Select(s => SchemeName(s) + " µs"), .. Schemes.Select(s => SchemeName(s) + " gave up")],
            [.. WalkerCounts.Select(w => (IReadOnlyList<string>)[w.ToString(CultureInfo.InvariantCulture),
                .. Schemes.Select(s => At(s, "collapse", w).Format("0.#")),
                .. Schemes.Select(s => context.Values(SchemeName(s), "collapse failed", w) is { Count: > 0 } v
                    ? v.Average().ToString("P0", CultureInfo.InvariantCulture) : "–")])]);
        result += string.Create(CultureInfo.InvariantCulture,
            $" A 2 MiB collapse with {most} walkers takes {At(TableFreeScheme.Ipi, "collapse", most).Format("0.#")} µs under ipi, {At(TableFreeScheme.Rcu, "collapse", most).Format("0.#")} µs under rcu and {At(TableFreeScheme.WalkerCounter, "collapse", most).Format("0.#")} µs under walker-counter.");
        return new ExperimentOutcome(result, verdict, [munmap, walk, collapse],
        [
            new ChartSpec("munmap.svg", "munmap latency against walker threads", "walker threads", "µs (log)",
                [.. Schemes.Select(s => new ChartSeries(SchemeName(s), [.. WalkerCounts.Select(w => new ChartPoint(w.ToString(CultureInfo.InvariantCulture), w, At(s, "munmap", w)))]))], LogY: true),
            new ChartSpec("walk.svg", "Time per lockless walk against walker threads", "walker threads", "ns per walk",
                [.. Schemes.Select(s => new ChartSeries(SchemeName(s), [.. walkersWithThreads.Select(w => new ChartPoint(w.ToString(CultureInfo.InvariantCulture), w, At(s, "time per walk", w)))]))]),
        ]);
    }

    private static string SchemeName(TableFreeScheme s) => s switch
    {
        TableFreeScheme.Ipi => "ipi",
        TableFreeScheme.Rcu => "rcu",
        _ => "walker-counter",
    };
}
