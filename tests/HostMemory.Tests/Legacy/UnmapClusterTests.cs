using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Legacy;

/// <summary>
/// Nonlinear file mappings (<c>remap_file_pages</c>, legacy profile): the object rmap cannot find their pages, so
/// reclaim unmaps them by <c>try_to_unmap_cluster</c>, one range start/end around each 32-page cluster.
/// </summary>
[TestFixture]
public sealed class UnmapClusterTests
{
    private const int Pages = 64;

    [TestCase(HostMutations.None, 32)]
    [TestCase(HostMutations.ClusterRangeOnePage, 1)]
    public void Reclaim_of_a_nonlinear_page_unmaps_its_cluster_inside_one_range(HostMutations mutations, int rangePages)
    {
        var (host, mm) = TestHosts.WithSpace(NotifierProfile.Legacy2008, mutations);
        using var manager = new HostMemoryManager(host);
        var file = host.CreateFile("data", Pages, writeNotify: false);
        var at = mm.Mmap(Pages * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        Assert.That(mm.RemapFilePagesNonlinear(at), Is.True);
        for (var p = 0; p < Pages; p++)
        {
            Assert.That(mm.HostWrite(at.AddPages((ulong)p), (ulong)p + 1), Is.EqualTo(HostStatus.Ok));
        }

        Assert.That(file.CachedPage(1), Is.EqualTo(Pte.PfnOf(mm.PteOf(at))), "the VMA maps file page 1 at its page 0: nonlinear");
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);

        var freed = manager.ReclaimPass(int.MaxValue).FramesFreed; // young clusters are kept once (their bits cleared)
        freed += manager.ReclaimPass(int.MaxValue).FramesFreed;

        var starts = kvm.CallsOf(CallbackKind.InvalidateRangeStart).Where(c => c.Cause == InvalidationCause.UnmapCluster).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.ClusterUnmaps), Is.EqualTo(Pages), "every PTE was unmapped by a cluster");
            Assert.That(freed, Is.EqualTo(Pages), "and every page could then be written back and freed");
            Assert.That(starts, Is.Not.Empty, "each cluster is bracketed");
            Assert.That(starts.Select(c => (int)((c.End.Value - c.Start.Value) >> Hva.PageShift)), Is.All.EqualTo(rangePages),
                "the range covers the whole cluster (the broken variant: one page)");
            Assert.That(kvm.CallsOf(CallbackKind.InvalidatePage), Is.Empty, "no per-page calls: the cluster's range does it");
        });
        for (var p = 0; p < Pages; p++)
        {
            Assert.That(mm.HostRead(at.AddPages((ulong)p), out var v) == HostStatus.Ok && v == (ulong)p + 1, Is.True,
                $"page {p} was written back and reads back after the refault");
        }
    }

    [Test]
    public void The_modern_profile_and_dirty_accounted_files_stay_linear()
    {
        var (host, modern) = TestHosts.WithSpace(NotifierProfile.Modern);
        var file = host.CreateFile("data", 8, writeNotify: false);
        var at = modern.Mmap(8 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var legacy = host.CreateAddressSpace("legacy", NotifierProfile.Legacy2008);
        var accounted = host.CreateFile("accounted", 8);
        var at2 = legacy.Mmap(8 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, accounted);

        Assert.Multiple(() =>
        {
            Assert.That(modern.RemapFilePagesNonlinear(at), Is.True);
            Assert.That(modern.Vmas[0].IsNonlinear, Is.False, "nonlinear mappings were removed in v4.0");
            Assert.That(legacy.RemapFilePagesNonlinear(at2), Is.True);
            Assert.That(legacy.Vmas[0].IsNonlinear, Is.False, "page_mkclean cannot clean a nonlinear VMA: emulated linearly");
        });
    }
}
