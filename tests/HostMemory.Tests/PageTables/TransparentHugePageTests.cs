using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.PageTables;

/// <summary>
/// Transparent huge pages on the host: a 2 MiB fault maps one PMD leaf over 512 aligned frames, every walker sees the
/// subpages through it, and every path that changes part of it splits it first inside a range covering the whole
/// 2 MiB (P6, P17).
/// </summary>
[TestFixture]
public sealed class TransparentHugePageTests
{
    private const ulong HugePages = PteTable.Entries;

    private static (HostSystem Host, AddressSpace Mm, RecordingNotifier Rec) Space(ThpMode mode = ThpMode.Always,
        HostMutations mutations = HostMutations.None, NotifierProfile profile = NotifierProfile.Modern)
    {
        var (host, mm) = TestHosts.WithSpace(profile, mutations);
        mm.Thp = mode;
        var rec = new RecordingNotifier("rec", new EventLog());
        mm.RegisterNotifier(rec);
        return (host, mm, rec);
    }

    private static IReadOnlyList<NotifierCall> SplitStarts(RecordingNotifier rec) =>
        [.. rec.CallsOf(CallbackKind.InvalidateRangeStart).Where(c => c.Cause == InvalidationCause.ThpSplit)];

    [Test]
    public void A_fault_in_an_aligned_anonymous_range_maps_one_pmd_over_512_aligned_frames()
    {
        var (host, mm, _) = Space();
        var at = mm.MapAnon(2 * HugePages);
        mm.Populate(at, 3);
        var pmd = mm.HugePmdOf(at);
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsHuge(pmd) && Pte.IsPresent(pmd), Is.True, "one present PMD leaf maps the first 2 MiB");
            Assert.That(Pte.PfnOf(pmd).Value % PhysicalMemory.HugeFrames, Is.Zero, "its frames start 512-aligned");
            Assert.That(mm.PfnAt(at.AddPages(7)).Value, Is.EqualTo(Pte.PfnOf(pmd).Value + 7), "subpage 7 is frame head + 7");
            Assert.That(mm.ReadWord(at.AddPages(2)), Is.EqualTo(0x1002UL), "the write landed in its subpage");
            Assert.That(mm.ReadWord(at.AddPages(100)), Is.Zero, "the rest of the huge page reads zero");
            Assert.That(host.Read(HostCounter.ThpFaults), Is.EqualTo(1), "three writes, one huge fault");
            Assert.That(host.Memory.MapCount(mm.PfnAt(at.AddPages(300))), Is.EqualTo(1), "each subpage counts the PMD's mapping");
            Assert.That(mm.HostPfnMappingLevel(at.AddPages(5)), Is.EqualTo(HostPageLevel.Pmd2M), "host_pfn_mapping_level sees the leaf");
            Assert.That(mm.HostPfnMappingLevel(at.AddPages(HugePages)), Is.EqualTo(HostPageLevel.Page4K), "nothing mapped is 4K");
        });
    }

    [Test]
    public void Never_and_unadvised_madvise_mode_map_small_pages_and_madvise_hugepage_turns_them_on()
    {
        var (_, never, _) = Space(ThpMode.Never);
        var a = never.MapAnon(HugePages);
        never.Populate(a, 1);
        var (_, advised, _) = Space(ThpMode.Madvise);
        var b = advised.MapAnon(2 * HugePages);
        advised.Populate(b, 1);
        Assert.That(advised.MadviseHugePage(b.AddPages(HugePages), HugePages * Hva.PageSize, huge: true), Is.EqualTo(HostStatus.Ok));
        advised.Populate(b.AddPages(HugePages), 1);
        Assert.Multiple(() =>
        {
            Assert.That(never.HugePmdOf(a), Is.Zero, "thp never: a PTE");
            Assert.That(advised.HugePmdOf(b), Is.Zero, "thp madvise without MADV_HUGEPAGE: a PTE");
            Assert.That(advised.HugePmdOf(b.AddPages(HugePages)), Is.Not.Zero, "after MADV_HUGEPAGE: a PMD leaf");
        });
    }

    [Test]
    public void A_partial_munmap_splits_inside_a_2MiB_range_and_keeps_the_other_subpages_and_their_data()
    {
        var (host, mm, rec) = Space();
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages);
        var head = Pte.PfnOf(mm.HugePmdOf(at));
        var freeBefore = host.Memory.FreeFrames;
        Assert.That(mm.Munmap(at.AddPages(10), 4 * Hva.PageSize), Is.EqualTo(HostStatus.Ok));
        var splits = SplitStarts(rec);
        Assert.Multiple(() =>
        {
            Assert.That(splits, Has.Count.EqualTo(1), "one split");
            Assert.That(splits[0].Start, Is.EqualTo(at), "its range starts at the huge page");
            Assert.That(splits[0].End, Is.EqualTo(at + AddressSpace.HugePageSize), "and covers all 2 MiB");
            Assert.That(mm.HugePmdOf(at), Is.Zero, "no PMD leaf is left");
            Assert.That(mm.PfnAt(at.AddPages(11 + 100)).Value, Is.EqualTo(head.Value + 111), "a kept subpage is the same frame");
            Assert.That(mm.ReadWord(at.AddPages(200)), Is.EqualTo(0x1000UL + 200), "with its data");
            Assert.That(mm.PteOf(at.AddPages(12)), Is.Zero, "the unmapped subpages are gone");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(freeBefore + 4), "their four frames were freed");
        });
    }

    [Test]
    public void A_partial_madvise_dontneed_splits_nested_in_its_own_range()
    {
        var (_, mm, rec) = Space();
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages);
        Assert.That(mm.MadviseDontNeed(at.AddPages(1), Hva.PageSize), Is.EqualTo(HostStatus.Ok));
        var starts = rec.CallsOf(CallbackKind.InvalidateRangeStart);
        Assert.Multiple(() =>
        {
            Assert.That(starts.Select(c => c.Cause), Is.EqualTo(new[] { InvalidationCause.MadviseDontNeed, InvalidationCause.ThpSplit }),
                "zap_pmd_range splits inside the madvise range");
            Assert.That(mm.ReadWord(at.AddPages(1)), Is.Zero, "the dropped page reads back zero");
            Assert.That(mm.ReadWord(at.AddPages(2)), Is.EqualTo(0x1002UL), "its neighbour kept its data");
        });
    }

    [Test]
    public void A_whole_mprotect_keeps_the_leaf_and_a_partial_one_splits_it()
    {
        var (host, mm, rec) = Space();
        var at = mm.MapAnon(2 * HugePages);
        mm.Populate(at, 2 * HugePages);
        Assert.That(mm.Mprotect(at, HugePages * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok));
        var whole = mm.HugePmdOf(at);
        Assert.That(mm.Mprotect(at.AddPages(HugePages + 3), Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsPresent(whole) && !Pte.IsWritable(whole), Is.True, "change_huge_pmd write-protects the leaf");
            Assert.That(mm.HugePmdOf(at.AddPages(HugePages)), Is.Zero, "the partly covered one was split");
            Assert.That(SplitStarts(rec), Has.Count.EqualTo(1), "once");
            Assert.That(Pte.IsWritable(mm.PteOf(at.AddPages(HugePages + 2))), Is.True, "its other pages stay writable");
            Assert.That(Pte.IsWritable(mm.PteOf(at.AddPages(HugePages + 3))), Is.False, "the protected one is not");
            Assert.That(host.Read(HostCounter.ThpSplits), Is.EqualTo(1), "counted");
        });
    }

    [Test]
    public void Fork_shares_the_huge_page_and_a_write_splits_it_and_copies_one_subpage()
    {
        var (host, mm, rec) = Space();
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages);
        var head = Pte.PfnOf(mm.HugePmdOf(at));
        var child = mm.Fork("child");
        Assert.That(child.HugePmdOf(at), Is.Not.Zero, "copy_huge_pmd: the child maps it with one PMD too");
        Assert.That(host.Memory.MapCount(new Pfn(head.Value + 5)), Is.EqualTo(2), "each subpage is mapped twice");

        Assert.That(mm.HostWrite(at.AddPages(5), 0xBEEF), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(mm.HugePmdOf(at), Is.Zero, "the parent's leaf was split (do_huge_pmd_wp_page fallback)");
            Assert.That(SplitStarts(rec), Has.Count.EqualTo(1), "inside a 2 MiB range");
            Assert.That(mm.PfnAt(at.AddPages(5)), Is.Not.EqualTo(new Pfn(head.Value + 5)), "the written page was copied");
            Assert.That(mm.PfnAt(at.AddPages(6)), Is.EqualTo(new Pfn(head.Value + 6)), "its neighbour is still shared");
            Assert.That(child.ReadWord(at.AddPages(5)), Is.EqualTo(0x1005UL), "the child still sees the old data");
            Assert.That(child.HugePmdOf(at), Is.Not.Zero, "and still one PMD");
        });
        child.Exit();
    }

    [Test]
    public void Gup_fast_returns_the_subpage_and_exit_frees_every_frame()
    {
        var (host, mm, _) = Space();
        var free = host.Memory.FreeFrames;
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, 1);
        Assert.That(mm.TryGetUserPageFast(at.AddPages(9), write: true, out var gup), Is.True, "gup_fast_pmd_leaf");
        Assert.That(gup.Pfn, Is.EqualTo(mm.PfnAt(at.AddPages(9))), "the subpage's frame");
        host.Memory.Put(gup.Pfn);
        mm.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(free), "the huge page and its deposited table are free again");
            Assert.That(host.Read(HostCounter.ThpZaps), Is.EqualTo(1), "zapped whole");
            Assert.That(host.Memory.FreeHugeBlocks, Is.EqualTo(1), "and the block is whole again for the next huge fault");
        });
    }

    [Test]
    public void The_split_without_notify_variant_splits_with_no_range()
    {
        var (_, mm, rec) = Space(mutations: HostMutations.ThpSplitNoNotify);
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages);
        Assert.That(mm.MadviseHugePage(at.AddPages(3), Hva.PageSize, huge: false), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(mm.HugePmdOf(at), Is.Zero, "the VMA split at an unaligned edge split the PMD");
            Assert.That(rec.CallsOf(CallbackKind.InvalidateRangeStart), Is.Empty, "and told no notifier");
        });
    }

    [Test]
    public void Khugepaged_collapses_small_pages_into_one_pmd_with_their_data_inside_a_2MiB_range()
    {
        var (host, mm, rec) = Space(ThpMode.Never);
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages - 10); // the last ten stay empty: they read back zero
        mm.Thp = ThpMode.Always;
        var free = host.Memory.FreeFrames;
        using var manager = new HostMemory.Reclaim.HostMemoryManager(host);
        var result = manager.CollapsePass(4);
        var starts = rec.CallsOf(CallbackKind.InvalidateRangeStart).Where(c => c.Cause == InvalidationCause.ThpCollapse).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(result.Collapsed, Is.EqualTo(1), "one region collapsed");
            Assert.That(mm.HugePmdOf(at), Is.Not.Zero, "a PMD leaf maps it now");
            Assert.That(mm.ReadWord(at.AddPages(77)), Is.EqualTo(0x1000UL + 77), "with the old data");
            Assert.That(mm.ReadWord(at.AddPages(HugePages - 1)), Is.Zero, "and zeroes where nothing was mapped");
            Assert.That(starts, Has.Count.EqualTo(1), "one range");
            Assert.That(starts[0].End.Value - starts[0].Start.Value, Is.EqualTo(AddressSpace.HugePageSize), "covering the 2 MiB");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(free - 10), "the 502 old frames were freed, 512 new ones used");
            Assert.That(host.Read(HostCounter.IpisSent), Is.GreaterThan(0), "the lockless walkers were synced by IPI");
        });
    }

    [Test]
    public void A_collapse_that_finds_an_extra_reference_puts_the_old_table_back()
    {
        var (host, mm, _) = Space(ThpMode.Never);
        var at = mm.MapAnon(HugePages);
        mm.Populate(at, HugePages);
        mm.Thp = ThpMode.Always;
        var pinned = mm.GetUserPages(at.AddPages(3), write: true); // a KVM fault's reference in flight
        Assert.Multiple(() =>
        {
            Assert.That(mm.TryCollapseHugePage(at), Is.False, "__collapse_huge_page_isolate: refcount != mapcount");
            Assert.That(mm.HugePmdOf(at), Is.Zero, "no leaf");
            Assert.That(mm.PfnAt(at.AddPages(3)), Is.EqualTo(pinned.Pfn), "the old PTEs are back");
            Assert.That(mm.ReadWord(at.AddPages(3)), Is.EqualTo(0x1003UL), "with their data");
            Assert.That(host.Read(HostCounter.ThpCollapseFailures), Is.EqualTo(1), "counted");
        });
        host.Memory.Put(pinned.Pfn);
        Assert.That(mm.TryCollapseHugePage(at), Is.True, "once the reference is gone the collapse goes through");
    }

    [Test]
    public void A_huge_page_migrates_whole_inside_one_2MiB_range_in_the_modern_profile_and_one_page_call_in_the_legacy_one()
    {
        foreach (var profile in new[] { NotifierProfile.Modern, NotifierProfile.Legacy2008 })
        {
            var (host, mm, rec) = Space(profile: profile);
            var at = mm.MapAnon(HugePages);
            mm.Populate(at, HugePages);
            var old = Pte.PfnOf(mm.HugePmdOf(at));
            using var manager = new HostMemory.Reclaim.HostMemoryManager(host);
            Assert.That(manager.MigratePage(mm, at.AddPages(9)), Is.EqualTo(HostMemory.Migration.MigrationStatus.Migrated), $"{profile}: migrated");
            var ranges = rec.CallsOf(CallbackKind.InvalidateRangeStart).Where(c => c.Cause == InvalidationCause.Migration).ToList();
            var pages = rec.CallsOf(CallbackKind.InvalidatePage);
            Assert.Multiple(() =>
            {
                Assert.That(Pte.PfnOf(mm.HugePmdOf(at)), Is.Not.EqualTo(old), $"{profile}: a new huge page");
                Assert.That(mm.ReadWord(at.AddPages(300)), Is.EqualTo(0x1000UL + 300), $"{profile}: with the data");
                Assert.That(host.Memory.IsFree(new Pfn(old.Value + 300)), Is.True, $"{profile}: the old frames are free");
                if (profile == NotifierProfile.Modern)
                {
                    Assert.That(ranges.Single().End.Value - ranges.Single().Start.Value, Is.EqualTo(AddressSpace.HugePageSize), "one range over the 2 MiB");
                }
                else
                {
                    Assert.That(pages.Single().Start, Is.EqualTo(at), "one invalidate_page, for the first address only (the v4.13 story)");
                }
            });
        }
    }
}
