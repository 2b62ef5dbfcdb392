using System.Diagnostics;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Workloads;
using NUnit.Framework;
using static Hypervisor.GuestModel.Tests.Workloads.WorkloadGeneratorTests;

namespace Hypervisor.GuestModel.Tests.Workloads;

/// <summary>Zipf workloads are skewed as their exponent says, scatter their hot pages and cost nothing to set up.</summary>
public class ZipfTests
{
    private const long Pages = 10_000;

    private static readonly double[] Exponents = [0.5, 1.0, 1.5];

    [Test]
    public void The_hottest_one_percent_of_pages_take_a_large_share_of_accesses()
    {
        var zipf = TopPercentShare(new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = 1.0 });
        var uniform = TopPercentShare(new WorkloadSpec { Pattern = AccessPattern.Uniform });
        Assert.Multiple(() =>
        {
            // Theory for s = 1 over 10,000 pages: H(100) / H(10000) = 5.19 / 9.79 = 53%.
            Assert.That(zipf, Is.EqualTo(0.53).Within(0.02), "the top 100 of 10,000 pages get about half the accesses");
            Assert.That(uniform, Is.LessThan(0.02), "the control: uniform's top 1% is about 1%");
        });
    }

    [Test]
    public void A_larger_exponent_makes_the_distribution_more_skewed()
    {
        var shares = Exponents.Select(s => TopPercentShare(new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = s })).ToList();
        Assert.That(shares, Is.Ordered.Ascending, $"top-1% shares for s = 0.5, 1.0, 1.5 grow: {string.Join(", ", shares)}");
        Assert.That(shares[2] - shares[0], Is.GreaterThan(0.5), "and by a lot");
    }

    [TestCase(0.8)]
    [TestCase(1.0)]
    [TestCase(1.3)]
    public void The_hottest_page_gets_the_share_zipf_predicts(double exponent)
    {
        const int elements = 1000;
        var spec = new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = exponent, WorkingSet = elements * ScenarioUnits.PageSize };
        var accesses = Take(WorkloadGenerator.Create(spec, 11, elements, 0, 1), 400_000);
        var hottest = accesses.GroupBy(a => a.Page).Max(g => g.Count()) / (double)accesses.Count;
        var harmonic = Enumerable.Range(1, elements).Sum(k => Math.Pow(k, -exponent));
        Assert.That(hottest, Is.EqualTo(1 / harmonic).Within(0.004), "P(rank 1) = 1 / H(n, s)");
    }

    [Test]
    public void Hot_pages_are_scattered_and_shared_by_the_vcpus_of_a_guest()
    {
        var spec = new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = 1.2 };
        var vcpu0 = Hottest(WorkloadGenerator.Create(spec, 4, Pages, 0, 2), 10);
        var vcpu1 = Hottest(WorkloadGenerator.Create(spec, 4, Pages, 1, 2), 10);
        Assert.Multiple(() =>
        {
            Assert.That(vcpu0.Max(), Is.GreaterThan(Pages / 4), "the ten hottest pages are not packed at the start of the working set");
            Assert.That(vcpu0.Take(3), Is.EqualTo(vcpu1.Take(3)), "both vCPUs of a guest share the hottest pages");
        });
    }

    [Test]
    public void A_100M_page_working_set_costs_nothing_to_set_up()
    {
        const long pages = 100_000_000; // 381GiB of guest memory
        var clock = Stopwatch.StartNew();
        var generator = WorkloadGenerator.Create(new WorkloadSpec { Pattern = AccessPattern.Zipf, ZipfExponent = 0.99 }, 1, pages, 0, 1);
        var accesses = Take(generator, 10_000);
        Assert.Multiple(() =>
        {
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "no per-page table is built");
            Assert.That(accesses.Select(a => a.Page), Has.All.LessThan((ulong)pages), "pages stay inside the guest");
        });
    }

    private static double TopPercentShare(WorkloadSpec spec)
    {
        var accesses = Take(WorkloadGenerator.Create(spec, 21, Pages, 0, 1), 300_000);
        var top = accesses.GroupBy(a => a.Page).Select(g => g.Count()).OrderDescending().Take((int)(Pages / 100)).Sum();
        return top / (double)accesses.Count;
    }

    private static List<ulong> Hottest(WorkloadGenerator generator, int count) =>
        [.. Take(generator, 200_000).GroupBy(a => a.Page).OrderByDescending(g => g.Count()).Take(count).Select(g => g.Key)];
}
