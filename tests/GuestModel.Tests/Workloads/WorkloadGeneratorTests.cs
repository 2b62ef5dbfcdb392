using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Workloads;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Workloads;

/// <summary>Determinism, ranges and read/write mix, common to every pattern.</summary>
public class WorkloadGeneratorTests
{
    private const long GuestPages = 4096; // 16MiB

    public static IEnumerable<TestCaseData> AllPatterns()
    {
        yield return new TestCaseData(new WorkloadSpec { Pattern = AccessPattern.Sequential }).SetArgDisplayNames("sequential");
        yield return new TestCaseData(new WorkloadSpec { Pattern = AccessPattern.Uniform }).SetArgDisplayNames("uniform");
        yield return new TestCaseData(new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = 1.1 }).SetArgDisplayNames("zipf");
        yield return new TestCaseData(new WorkloadSpec { Pattern = AccessPattern.Stride, Stride = 64L << 10 }).SetArgDisplayNames("stride");
        yield return new TestCaseData(new WorkloadSpec
        {
            Pattern = AccessPattern.Phased,
            Phases =
            [
                new WorkloadPhase { Workload = new WorkloadSpec { Pattern = AccessPattern.Sequential, WriteRatio = 1 }, Accesses = 1000 },
                new WorkloadPhase { Workload = new WorkloadSpec { Pattern = AccessPattern.Zipf }, Accesses = 5000 },
            ],
        }).SetArgDisplayNames("phased");
    }

    [TestCaseSource(nameof(AllPatterns))]
    public void The_same_seed_and_vcpu_give_the_same_sequence(WorkloadSpec spec)
    {
        var first = Take(WorkloadGenerator.Create(spec, seed: 42, GuestPages, vcpu: 1, vcpuCount: 4), 100_000);
        var second = Take(WorkloadGenerator.Create(spec, seed: 42, GuestPages, vcpu: 1, vcpuCount: 4), 100_000);
        Assert.That(FirstDifference(first, second), Is.EqualTo(-1), "a run is replayable from its seed: no access differs");
    }

    [TestCaseSource(nameof(AllPatterns))]
    public void Another_vcpu_or_seed_gives_another_sequence(WorkloadSpec spec)
    {
        var reference = Take(WorkloadGenerator.Create(spec, seed: 42, GuestPages, vcpu: 1, vcpuCount: 4), 10_000);
        var otherVcpu = Take(WorkloadGenerator.Create(spec, seed: 42, GuestPages, vcpu: 2, vcpuCount: 4), 10_000);
        var otherSeed = Take(WorkloadGenerator.Create(spec, seed: 43, GuestPages, vcpu: 1, vcpuCount: 4), 10_000);
        Assert.Multiple(() =>
        {
            Assert.That(FirstDifference(reference, otherVcpu), Is.Not.EqualTo(-1), "vCPUs do not run in lockstep");
            Assert.That(FirstDifference(reference, otherSeed), Is.Not.EqualTo(-1), "the seed changes the run");
        });
    }

    [TestCaseSource(nameof(AllPatterns))]
    public void Every_access_falls_inside_the_working_set(WorkloadSpec spec)
    {
        var windowed = spec.Pattern == AccessPattern.Phased
            ? spec with { Phases = [.. spec.Phases.Select(p => p with { Workload = p.Workload with { WorkingSetOffset = 1L << 20, WorkingSet = 2L << 20 } })] }
            : spec with { WorkingSetOffset = 1L << 20, WorkingSet = 2L << 20 };
        var pages = Take(WorkloadGenerator.Create(windowed, seed: 5, GuestPages, vcpu: 3, vcpuCount: 4), 200_000).Select(a => a.Page);
        Assert.That(pages, Has.All.InRange(256UL, 767UL), "pages 256 to 767 are the 2MiB working set from offset 1MiB");
    }

    [TestCase(AccessPattern.Uniform)]
    [TestCase(AccessPattern.Sequential)]
    [TestCase(AccessPattern.Zipf)]
    public void Writes_and_duplicate_writes_follow_their_ratios(AccessPattern pattern)
    {
        var spec = new WorkloadSpec { Pattern = pattern, WriteRatio = 0.3, DuplicateRatio = 0.25 };
        var accesses = Take(WorkloadGenerator.Create(spec, seed: 9, GuestPages, vcpu: 0, vcpuCount: 1), 400_000);
        var writes = accesses.Count(a => a.Write);
        Assert.Multiple(() =>
        {
            Assert.That(writes / (double)accesses.Count, Is.EqualTo(0.3).Within(0.005), "30% writes");
            Assert.That(accesses.Count(a => a.Duplicate) / (double)writes, Is.EqualTo(0.25).Within(0.01), "25% of the writes are duplicates");
            Assert.That(accesses.Where(a => a.Duplicate), Has.All.Matches<WorkloadAccess>(a => a.Write), "only writes store duplicate values");
        });
    }

    [TestCaseSource(nameof(AllPatterns))]
    public void A_one_page_working_set_always_yields_that_page(WorkloadSpec spec)
    {
        var onePage = spec.Pattern == AccessPattern.Phased
            ? spec with { Phases = [.. spec.Phases.Select(p => p with { Workload = p.Workload with { WorkingSetOffset = 7 * ScenarioUnits.PageSize, WorkingSet = ScenarioUnits.PageSize } })] }
            : spec with { WorkingSetOffset = 7 * ScenarioUnits.PageSize, WorkingSet = ScenarioUnits.PageSize };
        var pages = Take(WorkloadGenerator.Create(onePage, 2, GuestPages, 1, 2), 10_000).Select(a => a.Page);
        Assert.That(pages, Has.All.EqualTo(7UL), "the degenerate working set still works, without division by zero or escape");
    }

    [Test]
    public void Write_ratios_of_zero_and_one_are_exact()
    {
        var reads = Take(WorkloadGenerator.Create(new WorkloadSpec { WriteRatio = 0 }, 1, GuestPages, 0, 1), 100_000);
        var writes = Take(WorkloadGenerator.Create(new WorkloadSpec { WriteRatio = 1 }, 1, GuestPages, 0, 1), 100_000);
        Assert.Multiple(() =>
        {
            Assert.That(reads, Has.None.Matches<WorkloadAccess>(a => a.Write), "writeRatio 0 never writes");
            Assert.That(writes, Has.All.Matches<WorkloadAccess>(a => a.Write), "writeRatio 1 always writes");
        });
    }

    [TestCaseSource(nameof(AllPatterns))]
    public void Next_allocates_nothing(WorkloadSpec spec)
    {
        var generator = WorkloadGenerator.Create(spec with { WriteRatio = 0.5, DuplicateRatio = 0.5 }, 3, GuestPages, 0, 2);
        var sink = 0UL;
        for (var i = 0; i < 10_000; i++)
        {
            sink += generator.Next().Page; // warm up: tiering and first-call stubs
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000_000; i++)
        {
            sink += generator.Next().Page;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, $"the hot path allocates nothing (checksum {sink})");
    }

    [Test]
    public void The_allocation_probe_sees_an_allocating_loop()
    {
        // Control for Next_allocates_nothing: the same measurement around a loop that boxes must report bytes.
        object? last = null;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            last = new WorkloadAccess((ulong)i, false, false); // boxing allocates
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.GreaterThan(0), $"the probe detects allocations ({last})");
    }

    [Test]
    public void A_working_set_outside_the_guest_is_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => WorkloadGenerator.Create(new WorkloadSpec { WorkingSet = 32L << 20 }, 1, GuestPages, 0, 1),
                Throws.ArgumentException, "32MiB does not fit a 16MiB guest");
            Assert.That(() => WorkloadGenerator.Create(new WorkloadSpec { Pattern = AccessPattern.Phased }, 1, GuestPages, 0, 1),
                Throws.ArgumentException, "a phased workload needs phases");
            Assert.That(() => WorkloadGenerator.Create(new WorkloadSpec(), 1, GuestPages, 4, 4),
                Throws.InstanceOf<ArgumentOutOfRangeException>(), "vCPU 4 of 4 does not exist");
        });
    }

    [Test]
    [Explicit("Timing on a shared machine is noise; run by hand to see the cost of Next per pattern.")]
    public void Next_costs_a_few_nanoseconds()
    {
        foreach (var data in AllPatterns())
        {
            var generator = WorkloadGenerator.Create((WorkloadSpec)data.Arguments[0]!, 1, 1L << 26, 0, 1);
            var sink = 0UL;
            for (var i = 0; i < 1_000_000; i++)
            {
                sink += generator.Next().Page;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            const int calls = 20_000_000;
            for (var i = 0; i < calls; i++)
            {
                sink += generator.Next().Page;
            }

            var nanoseconds = clock.Elapsed.TotalNanoseconds / calls;
            TestContext.Out.WriteLine($"{data.TestName}: {nanoseconds:F1} ns per access (checksum {sink})");
            Assert.That(nanoseconds, Is.LessThan(200), "even zipf stays well under a cache miss to DRAM times a few");
        }
    }

    /// <summary>The index of the first access that differs, or -1 when the sequences are equal.</summary>
    private static int FirstDifference(List<WorkloadAccess> a, List<WorkloadAccess> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return a.Count == b.Count ? -1 : Math.Min(a.Count, b.Count);
    }

    internal static List<WorkloadAccess> Take(WorkloadGenerator generator, int count)
    {
        var list = new List<WorkloadAccess>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(generator.Next());
        }

        return list;
    }
}
