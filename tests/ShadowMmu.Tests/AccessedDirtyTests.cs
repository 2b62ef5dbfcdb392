using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>Accessed and dirty bits travel from the SPTEs to the host frames on zap and through aging.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class AccessedDirtyTests
{
    private const ulong Gfn = 9;

    /// <summary>
    /// Shared memory is mapped writable on a read fault, so a guest write dirties only the SPTE: the host frame
    /// learns about it only from the zap.
    /// </summary>
    private static (TestVm Env, Pfn Page) DirtyOnlyInTheSpte(ShadowMutations mutations)
    {
        var env = new TestVm(mutations, backing: VmaKind.AnonymousShared);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        Assert.That(vcpu.Access(new Gfn(Gfn), write: false, 0).IsOk, Is.True, "read fault maps the shared page writable");
        Assert.That(Spte.IsWritable(env.Vm.Table.Read(Gfn)), Is.True, "the SPTE is writable after a read fault");
        var page = Spte.PfnOf(env.Vm.Table.Read(Gfn));
        env.Host.Memory.ClearFlags(page, FrameFlags.Dirty | FrameFlags.Referenced);
        Assert.That(vcpu.Access(new Gfn(Gfn), write: true, 77).IsOk, Is.True, "guest write through the SPTE");
        vcpu.ExitGuest();
        Assert.That((env.Vm.Table.Read(Gfn) & Spte.Dirty) != 0, Is.True, "the SPTE is dirty");
        Assert.That(env.Host.Memory.Flags(page) & FrameFlags.Dirty, Is.EqualTo(FrameFlags.None), "the host frame is not dirty yet");
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "zap via madvise");
        return (env, page);
    }

    [Test]
    public void Zapping_a_dirty_spte_marks_the_host_page_dirty_and_accessed()
    {
        var (env, page) = DirtyOnlyInTheSpte(ShadowMutations.None);
        using var _ = env;
        Assert.Multiple(() =>
        {
            Assert.That(env.Host.Memory.Flags(page) & FrameFlags.Dirty, Is.EqualTo(FrameFlags.Dirty), "dirty reached the page");
            Assert.That(env.Host.Memory.Flags(page) & FrameFlags.Referenced, Is.EqualTo(FrameFlags.Referenced), "accessed reached the page");
        });
    }

    [Test]
    public void Without_dirty_propagation_the_write_is_invisible_to_the_host()
    {
        var (env, page) = DirtyOnlyInTheSpte(ShadowMutations.NoDirtyPropagation);
        using var _ = env;
        Assert.That(env.Host.Memory.Flags(page) & FrameFlags.Dirty, Is.EqualTo(FrameFlags.None), "the broken variant drops the dirty bit");
    }

    [Test]
    public void Clear_flush_young_reports_and_clears_accessed_and_a_new_access_sets_it_again()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        var hva = env.HvaOf(Gfn);
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: true, 1);
        vcpu.ExitGuest();
        var seq = env.Vm.InvalidateSeq;
        var first = env.Mm.Notifiers.ClearFlushYoung(hva, hva + Hva.PageSize);
        var second = env.Mm.Notifiers.ClearFlushYoung(hva, hva + Hva.PageSize);
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        var third = env.Mm.Notifiers.TestYoung(hva);
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.True, "the access made the SPTE young");
            Assert.That(second, Is.False, "clear_flush_young cleared it");
            Assert.That(third, Is.True, "the flush forced a walk, which set accessed again");
            Assert.That(env.Vm.InvalidateSeq, Is.EqualTo(seq), "aging does not touch the invalidation sequence");
            Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo(1), "aging does not zap");
        });
    }

    [Test]
    public void Clear_young_without_flush_misses_accesses_served_by_the_tlb()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        var hva = env.HvaOf(Gfn);
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: false, 0);
        Assert.That(env.Mm.Notifiers.ClearYoung(hva, hva + Hva.PageSize), Is.True, "young after the first access");
        vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        Assert.That(env.Mm.Notifiers.TestYoung(hva), Is.False, "a TLB hit does not set accessed: that is why clear_flush_young flushes");
    }

    [Test]
    public void Without_young_propagation_aging_never_reports_guest_use()
    {
        using var env = new TestVm(ShadowMutations.NoYoungPropagation);
        var vcpu = env.Vm.Vcpus[0];
        var hva = env.HvaOf(Gfn);
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        Assert.That(env.Mm.Notifiers.ClearFlushYoung(hva, hva + Hva.PageSize), Is.False, "the broken variant hides the access");
    }
}
