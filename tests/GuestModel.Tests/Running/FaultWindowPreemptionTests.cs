using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Tests.Scenarios;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// The fault-window preemption is kept whenever anything but the guest's own vCPUs could invalidate its memory, and
/// dropped only for a run where nothing can (a populate): it is the stimulus the broken variants are caught with.
/// </summary>
[TestFixture]
public class FaultWindowPreemptionTests
{
    private const int Frames = 262_144; // 1 GiB
    private const int LowWatermark = Frames / 64;

    [Test]
    public void A_lone_guest_with_room_in_ram_and_no_activity_has_nothing_to_race()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead);

        Assert.That(ScenarioRunner.HostMayInvalidate(scenario, null, LowWatermark, Frames), Is.False,
            "64 MiB of guest in 1 GiB of RAM, no activity, no client: only the vCPUs touch the memory");
    }

    [Test]
    public void An_activity_shadow_paging_or_ram_the_guest_could_fill_keeps_the_preemption()
    {
        var activity = ScenarioText.LoadValid(ScenarioText.MinimalHead + """

            activities:
              - kind: aging
                at: 1s
            """);
        var lone = ScenarioText.LoadValid(ScenarioText.MinimalHead);
        var fillable = 16_384 + 4_096; // 80 MiB of RAM: 64 MiB of guest and its page tables leave too little above the watermark

        Assert.Multiple(() =>
        {
            Assert.That(ScenarioRunner.HostMayInvalidate(activity, null, LowWatermark, Frames), Is.True, "an activity invalidates");
            Assert.That(ScenarioRunner.HostMayInvalidate(lone, MmuMode.Shadow, LowWatermark, Frames), Is.True,
                "shadow paging zaps on guest table writes from any vCPU");
            Assert.That(ScenarioRunner.HostMayInvalidate(lone, null, 16, fillable), Is.True,
                "kswapd could wake and reclaim the guest's pages");
        });
    }
}
