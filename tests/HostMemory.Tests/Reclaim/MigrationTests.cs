using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Migration;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Page migration: content, permissions and mappings move; the old frame is freed last.</summary>
public sealed class MigrationTests : ReclaimFixture
{
    [Test]
    public void An_anonymous_page_moves_to_a_new_frame_with_its_content_and_write_permission()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var hva = MapAndFill(mm, 1, _ => 0x77);
        var old = Pte.PfnOf(mm.PteOf(hva));

        var status = manager.MigratePage(mm, hva);

        var pte = mm.PteOf(hva);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(MigrationStatus.Migrated), "the page moved");
            Assert.That(Pte.PfnOf(pte), Is.Not.EqualTo(old), "to another frame");
            Assert.That(Pte.IsWritable(pte), Is.True, "it stays writable, as it was");
            Assert.That(host.Memory.IsFree(old), Is.True, "the old frame was freed");
            Assert.That(host.Read(HostCounter.Migrations), Is.EqualTo(1), "Migrations counts it");
        });
        Assert.That(ReadWord(mm, hva), Is.EqualTo(0x77UL), "the content moved with it");
    }

    [Test]
    public void Modern_migration_frees_the_old_frame_only_after_the_invalidation_start_returned()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, old) = WatchedPage(host, NotifierProfile.Modern, 3);

        Assert.That(manager.MigratePage(mm, hva), Is.EqualTo(MigrationStatus.Migrated), "the page moved");

        var calls = probe.InvalidationsOf(hva);
        Assert.That(calls.Select(c => (c.Kind, c.Event, c.Cause)), Is.EqualTo(new[]
        {
            (ProbeKind.RangeStart, (NotifierEvent?)NotifierEvent.Migrate, (InvalidationCause?)InvalidationCause.Migration),
            (ProbeKind.RangeEnd, (NotifierEvent?)NotifierEvent.Migrate, (InvalidationCause?)InvalidationCause.Migration),
        }), "a Migrate range around the move: " + probe.Dump());
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsPresent(calls[0].WatchedPte) && Pte.PfnOf(calls[0].WatchedPte) == old, Is.True, "at start the old frame is still mapped");
            Assert.That(calls[0].WatchedFrameFree, Is.False, "at start the old frame is not free");
            Assert.That(Pte.IsMigration(calls[1].WatchedPte) && Pte.PfnOf(calls[1].WatchedPte) == old, Is.True,
                "at end the entry is still a migration entry: the section brackets the unmap only (try_to_migrate_one), the copy and remove_migration_ptes come after it");
            Assert.That(Pte.PfnOf(mm.PteOf(hva)), Is.Not.EqualTo(old), "after the move the new frame is mapped");
            Assert.That(calls[1].WatchedFrameFree, Is.False, "at end the old frame is still not free");
            Assert.That(host.Memory.IsFree(old), Is.True, "it is freed after the end");
        });
    }

    [Test]
    public void Legacy_migration_invalidates_after_the_unmap_and_before_the_old_frame_is_freed()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, old) = WatchedPage(host, NotifierProfile.Legacy2008, 3);

        Assert.That(manager.MigratePage(mm, hva), Is.EqualTo(MigrationStatus.Migrated), "the page moved");

        var calls = probe.InvalidationsOf(hva);
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { ProbeKind.InvalidatePage }), "one InvalidatePage: " + probe.Dump());
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsPresent(calls[0].WatchedPte), Is.False, "the PTE was already a migration entry");
            Assert.That(Pte.IsMigration(calls[0].WatchedPte), Is.True, "(faulters wait on it)");
            Assert.That(calls[0].WatchedFrameFree, Is.False, "the old frame was not freed yet");
        });
    }

    [Test]
    public void The_invalidate_after_free_mutation_shows_up_as_a_free_old_frame_at_invalidate_page()
    {
        var host = NewHost(frames: 64, mutations: HostMutations.LegacyInvalidateAfterFree);
        using var manager = new HostMemoryManager(host);
        var (mm, probe, hva, _) = WatchedPage(host, NotifierProfile.Legacy2008, 3);

        Assert.That(manager.MigratePage(mm, hva), Is.EqualTo(MigrationStatus.Migrated), "the page moved");

        Assert.That(probe.InvalidationsOf(hva).Single().WatchedFrameFree, Is.True,
            "the broken variant tells the secondary only after the old frame was freed, and the probe sees it");
    }

    [Test]
    public void A_page_shared_by_fork_is_remapped_read_only_in_both_spaces()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var parent = host.CreateAddressSpace("parent");
        var hva = MapAndFill(parent, 1, _ => 21);
        var child = parent.Fork("child");
        var old = Pte.PfnOf(parent.PteOf(hva));

        Assert.That(manager.MigratePage(child, hva), Is.EqualTo(MigrationStatus.Migrated), "the shared page moved");

        var fresh = Pte.PfnOf(parent.PteOf(hva));
        Assert.Multiple(() =>
        {
            Assert.That(fresh, Is.Not.EqualTo(old), "the parent maps a new frame");
            Assert.That(Pte.PfnOf(child.PteOf(hva)), Is.EqualTo(fresh), "the child maps the same new frame");
            Assert.That(Pte.IsWritable(parent.PteOf(hva)) || Pte.IsWritable(child.PteOf(hva)), Is.False, "both stay read-only (COW)");
            Assert.That(host.Memory.MapCount(fresh), Is.EqualTo(2), "two mappings");
            Assert.That(host.Memory.IsFree(old), Is.True, "the old frame was freed");
        });
        Assert.That(child.HostWrite(hva, 22), Is.EqualTo(HostStatus.Ok), "a write still breaks COW");
        Assert.Multiple(() =>
        {
            Assert.That(ReadWord(parent, hva), Is.EqualTo(21UL), "the parent keeps its value");
            Assert.That(ReadWord(child, hva), Is.EqualTo(22UL), "the child sees its write");
        });
    }

    [Test]
    public void A_file_page_mapped_in_two_spaces_moves_everywhere_and_in_the_page_cache()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var file = host.CreateFile("disk.img", pages: 2);
        var a = host.CreateAddressSpace("a");
        var b = host.CreateAddressSpace("b");
        var hvaA = a.Mmap(2 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var hvaB = b.Mmap(2 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        a.HostWrite(hvaA.AddPages(1), 0xF11E);
        ReadWord(b, hvaB.AddPages(1));
        var old = file.CachedPage(1)!.Value;

        Assert.That(manager.MigratePage(b, hvaB.AddPages(1)), Is.EqualTo(MigrationStatus.Migrated), "the page moved");

        var fresh = file.CachedPage(1)!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(fresh, Is.Not.EqualTo(old), "the page cache holds the new frame");
            Assert.That(Pte.PfnOf(a.PteOf(hvaA.AddPages(1))), Is.EqualTo(fresh), "a maps the new frame");
            Assert.That(Pte.PfnOf(b.PteOf(hvaB.AddPages(1))), Is.EqualTo(fresh), "b maps the new frame");
            Assert.That(Pte.IsWritable(a.PteOf(hvaA.AddPages(1))), Is.True, "a's mapping was writable and stays so");
            Assert.That(Pte.IsWritable(b.PteOf(hvaB.AddPages(1))), Is.False, "b's was read-only (never written) and stays so");
            Assert.That(host.Memory.IsFree(old), Is.True, "the old frame was freed");
        });
        b.HostWrite(hvaB.AddPages(1), 0xB0B);
        Assert.That(ReadWord(a, hvaA.AddPages(1)), Is.EqualTo(0xB0BUL), "the mappings still share one page");
    }

    [Test]
    public void A_pinned_page_is_put_back_where_it_was()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var hva = MapAndFill(mm, 1, _ => 4);
        var pin = mm.GetUserPages(hva, write: false);
        var pteBefore = mm.PteOf(hva);

        var status = manager.MigratePage(mm, hva);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(MigrationStatus.Pinned), "an extra reference makes migration back off");
            Assert.That(mm.PteOf(hva), Is.EqualTo(pteBefore), "the PTE is exactly as before");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 2 - mm.PageTable.PteTableCount),
                "the frame allocated for the copy was returned (the page and its page table stay)");
        });
        host.Memory.Put(pin.Pfn);
        Assert.That(ReadWord(mm, hva), Is.EqualTo(4UL), "the content is intact");
    }

    [Test]
    public void Random_migrations_preserve_every_page()
    {
        const int seed = 4242;
        TestContext.Out.WriteLine($"seed {seed}");
        var host = NewHost(frames: 512);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 200, i => 0xC0DE0000UL + (ulong)i);

        var result = manager.MigrateRandomPages(300, new Random(seed));

        Assert.That(result.Migrated, Is.GreaterThan(250), $"almost every pick moved a page ({result})");
        for (var i = 0; i < 200; i++)
        {
            Assert.That(ReadWord(mm, start.AddPages((ulong)i)), Is.EqualTo(0xC0DE0000UL + (ulong)i), $"page {i} keeps its content");
        }

        Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1 - 200 - mm.PageTable.PteTableCount), "no frame leaked");
    }
}
