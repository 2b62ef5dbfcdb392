using System.Diagnostics;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Oversubscribed vCPUs: a free-running run gives its vCPUs a few host CPU threads, a time slice at a time, round
/// robin. Every vCPU gets its turns however many there are, the run still stops on time, and no more vCPU threads
/// exist than CPUs.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class VcpuSchedulerTests
{
    [Test]
    public void Every_vcpu_gets_slices_when_vcpus_far_outnumber_cpus(CancellationToken token)
    {
        // 48 one-vCPU guests on 2 CPUs: with slices that never ended, 46 guests would make no access at all.
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(48));
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = TimeSpan.FromSeconds(1), VcpuCpus = 2 }, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Guests.Where(g => g.Accesses == 0).Select(g => g.Name), Is.Empty,
                "round robin: every vCPU ran within a second, 48 vCPUs sharing 2 CPUs at 1 ms a slice");
            Assert.That(summary.Violations.Total, Is.Zero, "a vCPU moved between CPU threads keeps the protocol intact");
        });
    }

    [Test]
    public void A_run_of_many_vcpus_creates_no_more_vcpu_threads_than_cpus(CancellationToken token)
    {
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(200));
        var peak = 0;
        using var done = new ManualResetEventSlim(false);
        var sampler = new Thread(() =>
        {
            while (!done.IsSet)
            {
                using var process = Process.GetCurrentProcess();
                peak = Math.Max(peak, process.Threads.Count);
                done.Wait(20);
            }
        }) { IsBackground = true };
        using var before = Process.GetCurrentProcess();
        var threadsBefore = before.Threads.Count;
        sampler.Start();
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = TimeSpan.FromMilliseconds(500), VcpuCpus = 4 }, token);
        done.Set();
        sampler.Join();

        Assert.Multiple(() =>
        {
            Assert.That(summary.Totals.Accesses, Is.GreaterThan(0), "the guests ran");
            // 4 CPU threads, kswapd, the timer, the starters and the runtime's own: far from one thread per vCPU.
            Assert.That(peak - threadsBefore, Is.LessThan(100), "200 vCPUs share 4 CPU threads instead of a thread each");
        });
    }

    [Test]
    public void No_more_vcpus_than_cpus_keeps_one_cpu_per_vcpu_for_the_whole_run(CancellationToken token)
    {
        // The common case (a few vCPUs): nobody waits, so no vCPU is ever preempted by the queue and each runs flat out.
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(4));
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = TimeSpan.FromMilliseconds(300), VcpuCpus = 8 }, token);
        Assert.That(summary.Guests.Select(g => g.Accesses), Is.All.GreaterThan(0), "every vCPU on a CPU of its own ran");
    }
}
