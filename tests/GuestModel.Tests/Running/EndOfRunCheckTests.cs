using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Tests.Scenarios;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>The protocol checks a run makes once its guests are quiet.</summary>
[TestFixture]
public class EndOfRunCheckTests
{
    private static (GuestInstance Guest, NotifierRange Range) GuestWithOpenStart()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead);
        var host = new HostSystem(new HostOptions { RamBytes = scenario.Host.Ram, SwapBytes = scenario.Host.Swap });
        var guest = new GuestInstance(scenario.Guests[0], host, NotifierProfile.Modern, ShadowMutations.None);
        var hva = guest.Slots[0].Hva;
        var range = new NotifierRange(hva, hva + Hva.PageSize, NotifierEvent.Unmap, InvalidationCause.Reclaim);
        Assert.That(guest.Mm.Notifiers.InvalidateRangeStart(range), Is.True);
        return (guest, range);
    }

    [Test]
    public void An_invalidation_left_open_on_a_live_guest_is_reported()
    {
        var (guest, _) = GuestWithOpenStart();

        Assert.That(guest.EndOfRunProblems(), Has.Some.Contains("mmu_invalidate_in_progress is 1")
            .And.Some.Contains("1 start/end sections never ended"));
    }

    [Test]
    public void A_start_whose_end_was_cut_off_by_the_exit_release_is_not_a_protocol_problem()
    {
        // Reclaim's start reaches the VM, then the VMM exits: mmu_notifier_release unhashes the VM's
        // subscription, so reclaim's end goes to nobody (the kernel behaves the same way).
        var (guest, range) = GuestWithOpenStart();
        guest.Mm.Exit();
        guest.Mm.Notifiers.InvalidateRangeEnd(range);

        Assert.Multiple(() =>
        {
            Assert.That(guest.Vm.Released, Is.True);
            Assert.That(guest.Vm.InvalidateInProgress, Is.EqualTo(1), "the end never reached the released VM");
            Assert.That(guest.Mm.Notifiers.OpenSections, Is.Zero, "the primary side is balanced");
            Assert.That(guest.EndOfRunProblems(), Is.Empty);
        });
    }
}
