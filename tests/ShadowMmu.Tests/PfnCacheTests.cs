using Hypervisor.HostMemory;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// The vCPUs' gfn-to-pfn caches: filled on entry, invalidated by a start over their page before the host changes
/// it, refreshed by <c>hva_to_pfn_retry</c>, whose lockless <c>mmu_notifier_retry_cache</c> keeps it going round
/// while any invalidation is open.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class PfnCacheTests
{
    [Test]
    public void A_vcpu_fills_its_cache_on_entry_and_refreshes_it_after_a_start_over_the_page()
    {
        using var env = new TestVm(pfnCaches: true);
        var vcpu = env.Vm.Vcpus[0];
        var cache = vcpu.PfnCache!;
        Assert.That(env.Mm.HostWrite(env.HvaOf(cache.Gfn), 0x77), Is.EqualTo(HostStatus.Ok), "the VMM populates the cached page");
        vcpu.EnterGuest();
        vcpu.ExitGuest();
        var first = env.HostPfn(cache.Gfn);
        Assert.That(cache.CachedPfn, Is.EqualTo(first), "the first entry filled the cache with the host's page");

        env.Mm.MadviseDontNeed(env.HvaOf(cache.Gfn), Hva.PageSize);
        Assert.That(cache.IsValid, Is.False, "the start invalidated the cache before the host dropped the page");

        vcpu.EnterGuest();
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(cache.CachedPfn, Is.EqualTo(env.HostPfn(cache.Gfn)), "the refresh maps what the host maps now");
            Assert.That(cache.CachedPfn, Is.Not.EqualTo(first), "not the dropped page");
            Assert.That(cache.Refreshes, Is.EqualTo(2), "one refresh on the first entry, one after the invalidation");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void A_refresh_goes_round_while_an_invalidation_is_open_and_succeeds_after_its_end()
    {
        var gate = new GateNotifier();
        using var env = new TestVm(pfnCaches: true, beforeVm: mm => mm.RegisterNotifier(gate));
        var vcpu = env.Vm.Vcpus[0];
        var cache = vcpu.PfnCache!;
        var hva = env.HvaOf(cache.Gfn);
        Assert.That(env.Mm.HostWrite(hva, 0x99), Is.EqualTo(HostStatus.Ok), "the VMM populates the cached page");
        vcpu.EnterGuest();
        vcpu.ExitGuest();
        var old = env.HostPfn(cache.Gfn);

        gate.CloseGate();
        var host = new Thread(() => env.Mm.MadviseDontNeed(hva, Hva.PageSize)) { Name = "host-madvise", IsBackground = true };
        host.Start();
        Assert.That(gate.Parked.Wait(TimeSpan.FromSeconds(10)), Is.True, "the host parks inside the open invalidation");
        Assert.That(env.Vm.ActiveInvalidateCount, Is.EqualTo(1), "mn_active_invalidate_count counts the open start");

        var entry = new Thread(() =>
        {
            vcpu.EnterGuest(); // services the refresh request
            vcpu.ExitGuest();
        })
        { Name = "vcpu-0", IsBackground = true };
        entry.Start();
        Assert.That(SpinWait.SpinUntil(() => cache.Retries >= 5, TimeSpan.FromSeconds(10)), Is.True, "the refresh goes round while the count is raised");
        Assert.That(cache.IsValid, Is.False, "and does not validate the cache meanwhile");

        gate.OpenGate();
        Assert.That(host.Join(10_000), Is.True, "the host finishes");
        Assert.That(entry.Join(10_000), Is.True, "the refresh finishes once the invalidation ended");
        Assert.Multiple(() =>
        {
            Assert.That(cache.CachedPfn, Is.EqualTo(env.HostPfn(cache.Gfn)), "the cache maps the host's current page");
            Assert.That(cache.CachedPfn, Is.Not.EqualTo(old), "not the page the invalidation dropped");
            Assert.That(env.Vm.ActiveInvalidateCount, Is.Zero, "the end lowered the count");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }
}
