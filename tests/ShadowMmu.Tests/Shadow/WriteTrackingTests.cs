using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;
using static Hypervisor.ShadowMmu.Tests.Shadow.GuestAccess;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>
/// Write protection of shadowed guest tables: upper-level frames are write-tracked and their stores emulated
/// (<c>kvm_mmu_track_write</c>), leaf frames go unsync (<c>mmu_try_to_unsync_pages</c>); without protection a
/// guest edit leaves the shadow stale.
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
public class WriteTrackingTests
{
    [Test]
    public void Shadowing_a_table_write_protects_its_frame_and_tracks_upper_levels_only()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Load();
        Access(vcpu, 0x1000);
        var track = env.Vm.Shadow!.Track;
        Assert.Multiple(() =>
        {
            for (var level = 2; level <= 4; level++)
            {
                Assert.That(track.IsWriteTracked(tables.TableFor(0x1000, level)), Is.True, $"the level-{level} frame is write-tracked");
            }

            Assert.That(track.IsWriteTracked(tables.TableFor(0x1000, 1)), Is.False, "a leaf table is not tracked");
            Assert.That(track.IsWriteProtected(tables.TableFor(0x1000, 1)), Is.True, "but it is write-protected");
            Assert.That(track.IsWriteProtected(5), Is.False, "a data frame is not");
        });
    }

    [Test]
    public void A_store_to_an_upper_level_table_is_emulated_and_zaps_the_shadowed_entry()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Load();
        Assert.That(Access(vcpu, 0x1000).IsOk, Is.True, "mapped");
        var pd = tables.TableFor(0x1000, 2);
        var flushes = vcpu.Stats.Snapshot().TlbFlushesHandled;
        vcpu.WriteGuestPte(pd, Gpte.IndexOf(0x1000, 2), 0); // the guest unmaps the whole 2 MiB region
        var after = Access(vcpu, 0x1000);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Stats.EmulatedWrites, Is.GreaterThanOrEqualTo(1), "the store trapped and was emulated");
            Assert.That(after.Status, Is.EqualTo(AccessStatus.GuestPageFault), "the zapped link is gone: the next access walks the guest tables and faults");
            Assert.That(vcpu.Stats.Snapshot().TlbFlushesHandled, Is.GreaterThan(flushes), "the emulated write flushed the TLBs");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void A_store_to_a_leaf_table_unsyncs_it_without_an_exit()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Load();
        Access(vcpu, 0x1000);
        var pt = tables.TableFor(0x1000, 1);
        var emulated = env.Vm.Shadow!.Stats.EmulatedWrites;
        tables.Map(0x1001, 6);
        var leaf = env.Vm.Shadow!.Pages.Find(pt, new ShadowRole(1, true))!;
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Stats.EmulatedWrites, Is.EqualTo(emulated), "no emulation for a leaf table");
            Assert.That(leaf.Unsync, Is.True, "the leaf shadow page went unsync");
            Assert.That(vcpu.CurrentRoot!.UnsyncChildren, Is.True, "its ancestors know");
            Assert.That(env.Vm.Shadow!.Track.IsWriteProtected(pt), Is.False, "the frame is writable until the next sync");
        });

        tables.Load(); // a CR3 load syncs and protects again
        Assert.Multiple(() =>
        {
            Assert.That(leaf.Unsync, Is.False, "synced by mmu_sync_children");
            Assert.That(env.Vm.Shadow!.Track.IsWriteProtected(pt), Is.True, "protected again");
        });
    }

    [Test]
    public void Without_write_protection_an_upper_level_edit_leaves_a_stale_shadow_that_still_translates()
    {
        using var env = new TestVm(ShadowMutations.NoGptWriteProtect, mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Load();
        Access(vcpu, 0x1000);
        vcpu.WriteGuestPte(tables.TableFor(0x1000, 2), Gpte.IndexOf(0x1000, 2), 0);
        vcpu.Invlpg(0x1000);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Track.IsWriteTracked(tables.TableFor(0x1000, 3)), Is.False, "the broken variant tracks nothing");
            Assert.That(Access(vcpu, 0x1000).Status, Is.EqualTo(AccessStatus.Ok),
                "the guest unmapped the page and flushed, yet the stale shadow still translates it");
        });
    }
}
