using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.GuestModel.Tests.Scenarios;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Two memslots over one host range (<c>aliasOf</c>): a write through one gfn is read through the other, every
/// invalidation of the host range zaps both gfn ranges, and the variant that zaps only the first slot is caught.
/// </summary>
[TestFixture]
[NonParallelizable]
public class AliasedMemslotTests
{
    private static Scenario Aliased()
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "aliased-memslots.yaml"));
        Assert.That(loaded.Errors, Is.Empty, "aliased-memslots.yaml loads");
        return loaded.Scenario!;
    }

    private static string Describe(RunSummary s) => string.Join("; ", s.Violations.First.Select(f => $"{f.Kind}: {f.Detail}"));

    [Test]
    public void A_write_through_one_gfn_is_read_through_the_other_and_an_invalidation_zaps_both()
    {
        var scenario = ScenarioText.LoadValid("name: t\nhost:\n  ram: 256MiB\nguests:\n  - name: g\n    memory: 8MiB\n    vcpus: 1\n" +
            "    memslots:\n      - { base: 0, size: 4MiB }\n      - { base: 4MiB, size: 4MiB, aliasOf: 0 }\n");
        var host = new HostSystem(new HostOptions { RamBytes = 256L << 20 });
        var guest = new GuestInstance(scenario.Guests[0], host, NotifierProfile.Modern, ShadowMutations.None);
        var vcpu = guest.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var wrote = vcpu.Access(new Gfn(1024 + 5), write: true, 0xabc);
        var read = vcpu.Access(new Gfn(5), write: false, 0);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(wrote.IsOk && read.IsOk, Is.True, "both accesses complete");
            Assert.That(read.Value, Is.EqualTo(0xabcUL), "gfn 5 reads what gfn 1029 wrote: one host page");
            Assert.That(read.Pfn, Is.EqualTo(wrote.Pfn), "one frame behind both gfns");
            Assert.That(guest.Oracle.Canonical(1024 + 5), Is.EqualTo(5), "the oracle keeps one expectation for both");
        });

        var presentBefore = guest.Vm.CountPresentSptes();
        Assert.That(guest.Mm.MadviseDontNeed(guest.Slots[0].HvaOfPage(5), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "the host drops the page");
        Assert.Multiple(() =>
        {
            Assert.That(presentBefore, Is.EqualTo(2), "an SPTE for each gfn");
            Assert.That(guest.Vm.CountPresentSptes(), Is.Zero, "the one invalidation zapped both gfns (__kvm_handle_hva_range visits each slot)");
        });
        guest.Vm.Dispose();
        guest.Mm.Exit();
    }

    [Test]
    [CancelAfter(60_000)]
    public void The_intact_protocol_keeps_both_aliases_coherent(CancellationToken token)
    {
        var summary = new ScenarioRunner().Run(Aliased(), new RunOptions { Duration = TimeSpan.FromSeconds(2), CheckAfterOps = true }, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero, "no violation: " + Describe(summary));
            Assert.That(summary.Totals.Accesses, Is.GreaterThan(10_000), "the vCPUs ran through both gfn ranges");
            Assert.That(summary.Activities.Select(a => a.Firings), Is.All.GreaterThan(3), "every activity fired again and again");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void Zapping_only_the_first_slot_over_a_range_is_caught(CancellationToken token)
    {
        var summary = new ScenarioRunner().Run(Aliased(),
            new RunOptions { Duration = TimeSpan.FromSeconds(2), CheckAfterOps = true, Mutation = "hva-range-first-slot-only" }, token);
        Assert.That(summary.Violations.Total, Is.GreaterThan(0), "the alias kept an SPTE to a frame the host unmapped: " + Describe(summary));
    }
}
