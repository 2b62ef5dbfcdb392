using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Cpus;

/// <summary>
/// Model CPUs: an IPI to all completes only when every CPU has taken it, which a CPU with interrupts off does when it
/// turns them on; an RCU-sched callback waits for every section that was running when it was queued, and no other.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HostCpusTests
{
    private static HostSystem Host(int cpus) => new(new HostOptions { RamBytes = 16L << 20, Cpus = cpus });

    [Test]
    [CancelAfter(30_000)]
    public void An_ipi_to_all_waits_for_the_cpu_that_has_interrupts_off(CancellationToken token)
    {
        var host = Host(4);
        using var inside = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        using var walker = TestThread.Start("irq-off", () =>
        {
            using (host.Cpus.LocalIrqSave())
            {
                inside.Set();
                leave.Wait(TestHosts.MustHappen);
            }
        });
        Assert.That(inside.Wait(TestHosts.MustHappen, token), Is.True, "the walker disabled interrupts");
        Assert.That(host.Cpus.CpusWithIrqsOff(), Is.EqualTo(1), "on one model CPU");

        using var sender = TestThread.Start("smp_call_function", host.Cpus.SendIpiToAllAndWait);
        Assert.That(sender.WaitDone(TestHosts.BlockedProbe, token), Is.False, "the IPI is not taken while interrupts are off");

        leave.Set();
        sender.Join(TestHosts.MustHappen, token);
        walker.Join(TestHosts.MustHappen, token);
        Assert.That(host.Read(HostCounter.IpisSent), Is.EqualTo(4), "one interrupt per CPU");
    }

    [Test]
    public void Sections_nest_and_only_the_outermost_restore_turns_interrupts_on()
    {
        var host = Host(2);
        using (host.Cpus.LocalIrqSave())
        {
            using (host.Cpus.LocalIrqSave())
            {
                Assert.That(host.Cpus.CpusWithIrqsOff(), Is.EqualTo(1), "a nested save stays on the same CPU");
            }

            Assert.That(host.Cpus.IrqsDisabledHere, Is.True, "the inner restore leaves interrupts off");
        }

        Assert.That(host.Cpus.IrqsDisabledHere, Is.False, "the outer one turns them on");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_call_rcu_runs_after_the_sections_running_at_its_queueing_and_not_before(CancellationToken token)
    {
        var host = Host(4);
        var ran = 0;
        host.Cpus.CallRcu(() => ran++);
        Assert.That(ran, Is.EqualTo(1), "with no CPU in a section the grace period is already over");

        using var inside = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        using var walker = TestThread.Start("irq-off", () =>
        {
            using (host.Cpus.LocalIrqSave())
            {
                inside.Set();
                leave.Wait(TestHosts.MustHappen);
            }
        });
        Assert.That(inside.Wait(TestHosts.MustHappen, token), Is.True, "the walker disabled interrupts");
        host.Cpus.CallRcu(() => Interlocked.Increment(ref ran));
        using (host.Cpus.LocalIrqSave())
        {
            // A section that starts after the call_rcu does not hold the grace period up.
        }

        Assert.That(Volatile.Read(ref ran), Is.EqualTo(1), "the callback waits for the walker's section");
        leave.Set();
        walker.Join(TestHosts.MustHappen, token);
        host.Cpus.RcuBarrier();
        Assert.That(Volatile.Read(ref ran), Is.EqualTo(2), "and runs when it ends");
    }
}
