using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vcpus;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>Release during running vCPUs, unregister while vCPUs fault, and page-reference accounting.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class LifecycleTests
{
    private static Thread[] StartVcpus(TestVm env, int seed, Func<bool> keepGoing, List<AccessStatus> endings)
    {
        return [.. env.Vm.Vcpus.Select(vcpu =>
        {
            var t = new Thread(() =>
            {
                var rng = new Random(seed + vcpu.Index);
                vcpu.EnterGuest();
                var status = AccessStatus.Ok;
                while (keepGoing() && status == AccessStatus.Ok)
                {
                    var gfn = (ulong)rng.Next(0, 256);
                    status = vcpu.Access(new Gfn(gfn), rng.Next(4) == 0, (ulong)rng.Next()).Status;
                }

                vcpu.ExitGuest();
                lock (endings)
                {
                    endings.Add(status);
                }
            })
            { Name = $"vcpu-{vcpu.Index}", IsBackground = true };
            t.Start();
            return t;
        })];
    }

    [Test]
    public void Exit_releases_the_vm_while_vcpus_run_and_they_stop_cleanly()
    {
        using var env = new TestVm(vcpus: 2);
        var endings = new List<AccessStatus>();
        var threads = StartVcpus(env, 11, () => true, endings);
        Thread.Sleep(200);
        env.Mm.Exit();
        foreach (var t in threads)
        {
            Assert.That(t.Join(10_000), Is.True, "every vCPU thread ends after the address space exited");
        }

        Assert.Multiple(() =>
        {
            Assert.That(endings, Is.All.EqualTo(AccessStatus.VmDead), "vCPUs see a dead VM, not garbage");
            Assert.That(env.Vm.CountPresentSptes(), Is.Zero, "release zapped everything");
            Assert.That(env.Vm.Stats.Snapshot().Releases, Is.EqualTo(1), "release ran once");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no use of freed frames");
            Assert.That(env.Host.Memory.FreeFrames, Is.EqualTo(env.Host.Memory.TotalFrames - 1), "every frame went back");
        });
    }

    [Test]
    public void Unregister_and_reregister_while_vcpus_fault_keeps_memory_coherent()
    {
        using var env = new TestVm(vcpus: 2);
        var stop = false;
        var endings = new List<AccessStatus>();
        var threads = StartVcpus(env, 21, () => !Volatile.Read(ref stop), endings);
        for (var round = 0; round < 5; round++)
        {
            Thread.Sleep(50);
            env.Vm.DetachNotifier();
            Assert.That(env.Vm.CountPresentSptes(), Is.Zero, "unregister ran release: no SPTE survives");
            env.Mm.MadviseDontNeed(env.Base, 64 * Hva.PageSize);
            Thread.Sleep(20);
            Assert.That(env.Vm.ReattachNotifier(), Is.True, "the notifier comes back");
        }

        Volatile.Write(ref stop, true);
        foreach (var t in threads)
        {
            Assert.That(t.Join(10_000), Is.True, "vCPU threads stop");
        }

        var totals = env.Vm.VcpuTotals();
        Assert.Multiple(() =>
        {
            Assert.That(endings, Is.All.EqualTo(AccessStatus.Ok), "accesses kept succeeding around the re-registrations");
            Assert.That(totals.GupReferencesDropped, Is.EqualTo(totals.GupReferencesTaken), "every gup reference dropped exactly once");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void Concurrent_faults_and_invalidations_drop_every_page_reference_exactly_once()
    {
        using var env = new TestVm(vcpus: 2);
        var stop = false;
        var endings = new List<AccessStatus>();
        var threads = StartVcpus(env, 31, () => !Volatile.Read(ref stop), endings);
        var rng = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var page = (ulong)rng.Next(0, 240);
            switch (i % 3)
            {
                case 0: env.Mm.MadviseDontNeed(env.HvaOf(page), 16 * Hva.PageSize); break;
                case 1: env.Mm.Fork("child").Exit(); break;
                default: env.Mm.HostWrite(env.HvaOf(page), (ulong)i); break;
            }
        }

        Volatile.Write(ref stop, true);
        foreach (var t in threads)
        {
            Assert.That(t.Join(10_000), Is.True, "vCPU threads stop");
        }

        var totals = env.Vm.VcpuTotals();
        env.Vm.Dispose();
        env.Mm.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(totals.Faults, Is.GreaterThan(0), "the vCPUs faulted");
            Assert.That(totals.GupReferencesDropped, Is.EqualTo(totals.GupReferencesTaken), "I14: every gup reference dropped once");
            Assert.That(env.Host.Memory.FreeFrames, Is.EqualTo(env.Host.Memory.TotalFrames - 1), "no page leaked a reference");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }
}
