using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Workloads;
using NUnit.Framework;
using static Hypervisor.GuestModel.Tests.Workloads.WorkloadGeneratorTests;

namespace Hypervisor.GuestModel.Tests.Workloads;

/// <summary>Which pages each pattern visits, and in what order.</summary>
public class PatternTests
{
    private const long Page = ScenarioUnits.PageSize;

    [Test]
    public void Sequential_walks_the_working_set_in_order_and_wraps()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Sequential, WorkingSetOffset = 10 * Page, WorkingSet = 5 * Page };
        var pages = Pages(WorkloadGenerator.Create(spec, 1, 100, vcpu: 0, vcpuCount: 1), 12);
        Assert.That(pages, Is.EqualTo(new List<ulong> { 10, 11, 12, 13, 14, 10, 11, 12, 13, 14, 10, 11 }), "in order from the offset, wrapping");
    }

    [Test]
    public void Sequential_vcpus_start_spread_over_the_working_set()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Sequential, WorkingSet = 100 * Page };
        var starts = Enumerable.Range(0, 4).Select(v => WorkloadGenerator.Create(spec, 1, 100, v, 4).Next().Page);
        Assert.That(starts, Is.EqualTo(new List<ulong> { 0, 25, 50, 75 }), "vCPU v starts at v * workingSet / vcpus");
    }

    [Test]
    public void Stride_visits_every_stride_th_page_then_shifts_by_one_lane()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Stride, Stride = 3 * Page, WorkingSet = 7 * Page };
        var pages = Pages(WorkloadGenerator.Create(spec, 1, 7, 0, 1), 14);
        Assert.That(pages, Is.EqualTo(new List<ulong> { 0, 3, 6, 1, 4, 2, 5, 0, 3, 6, 1, 4, 2, 5 }),
            "lanes 0, 1, 2 in turn: every page once per cycle of stride passes");
    }

    [Test]
    public void Stride_vcpus_start_spread_over_the_working_set()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Stride, Stride = 4 * Page, WorkingSet = 16 * Page };
        var pages = Pages(WorkloadGenerator.Create(spec, 1, 16, vcpu: 1, vcpuCount: 2), 6);
        Assert.That(pages, Is.EqualTo(new List<ulong> { 8, 12, 1, 5, 9, 13 }), "vCPU 1 of 2 starts half-way, in lane 0, then takes lane 1");
    }

    [Test]
    public void Stride_larger_than_the_working_set_still_visits_every_page()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Stride, Stride = 64 * Page, WorkingSet = 4 * Page };
        Assert.That(Pages(WorkloadGenerator.Create(spec, 1, 4, 0, 1), 8), Is.EqualTo(new List<ulong> { 0, 1, 2, 3, 0, 1, 2, 3 }),
            "each pass is one page long");
    }

    [Test]
    public void Uniform_touches_the_whole_working_set_evenly()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Uniform, WorkingSet = 64 * Page };
        var counts = Pages(WorkloadGenerator.Create(spec, 7, 64, 0, 1), 64_000).GroupBy(p => p).Select(g => g.Count()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(counts, Has.Count.EqualTo(64), "every page is hit");
            Assert.That(counts, Has.All.InRange(800, 1200), "about 1000 hits each");
        });
    }

    [Test]
    public void Phased_switches_after_each_phase_s_accesses_and_cycles()
    {
        var spec = new WorkloadSpec
        {
            Pattern = AccessPattern.Phased,
            Phases =
            [
                new WorkloadPhase { Workload = new WorkloadSpec { Pattern = AccessPattern.Sequential, WorkingSet = 10 * Page }, Accesses = 3 },
                new WorkloadPhase
                {
                    Workload = new WorkloadSpec { Pattern = AccessPattern.Uniform, WorkingSetOffset = 100 * Page, WorkingSet = 10 * Page },
                    Accesses = 2,
                },
            ],
        };
        var pages = Pages(WorkloadGenerator.Create(spec, 1, 200, 0, 1), 10);
        var phaseOfEach = pages.Select(p => p < 100 ? 'A' : 'B');
        Assert.Multiple(() =>
        {
            Assert.That(string.Concat(phaseOfEach), Is.EqualTo("AAABBAAABB"), "3 accesses of phase A, 2 of phase B, again");
            Assert.That(pages.Where(p => p < 100), Is.EqualTo(new List<ulong> { 0, 1, 2, 3, 4, 5 }),
                "a sequential phase continues where it stopped");
        });
    }

    private static List<ulong> Pages(WorkloadGenerator generator, int count) => [.. Take(generator, count).Select(a => a.Page)];
}
