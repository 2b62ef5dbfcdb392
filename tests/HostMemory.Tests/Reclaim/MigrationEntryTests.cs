using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>
/// Migration entries met by mmap-lock holders: migration never takes the mmap lock, so mprotect can run between
/// <c>try_to_migrate</c> and <c>remove_migration_ptes</c> and must make a writable migration entry read-only
/// (<c>change_pte_range</c>), or the page comes back writable in a read-only VMA.
/// </summary>
public sealed class MigrationEntryTests
{
    /// <summary>
    /// Parks a migration of one written page in the notifier's range end (the PTE is a writable migration entry
    /// then, and the migrator holds no mmap lock), runs mprotect(PROT_READ) over the page meanwhile, lets the
    /// migration finish, and returns the PTE it left plus the result of a read <c>get_user_pages</c>.
    /// </summary>
    private static (ulong PteDuringMprotect, ulong PteAfter, GupResult Gup, HostSystem Host) MprotectDuringMigration(
        HostMutations mutations, CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace(mutations: mutations);
        var at = mm.MapAnon(1);
        mm.Populate(at, 1, 0x5A);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        using var manager = new HostMemoryManager(host);
        using var parked = kvm.ParkNext(CallbackKind.InvalidateRangeEnd, cancellation);
        using var migrate = TestThread.Start("migrate", () => manager.MigratePage(mm, at));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "the migration parks in its range end");
        var during = mm.PteOf(at);

        Assert.That(mm.Mprotect(at, Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok),
            "mprotect runs while the migration is parked (it holds no mmap lock)");
        parked.Open();
        migrate.Join(TestHosts.MustHappen, cancellation);

        var after = mm.PteOf(at);
        var gup = mm.GetUserPages(at, write: false);
        if (gup.Status == HostStatus.Ok)
        {
            host.Memory.Put(gup.Pfn);
        }

        return (during, after, gup, host);
    }

    [Test]
    [CancelAfter(30_000)]
    public void Mprotect_makes_a_writable_migration_entry_read_only(CancellationToken cancellation)
    {
        var (during, after, gup, host) = MprotectDuringMigration(HostMutations.None, cancellation);
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsMigration(during) && Pte.IsWritable(during), Is.True, "mprotect met a writable migration entry");
            Assert.That(Pte.IsPresent(after), Is.True, "the migration finished and mapped the page again");
            Assert.That(Pte.IsWritable(after), Is.False, "read-only, as mprotect left it");
            Assert.That(gup.Status, Is.EqualTo(HostStatus.Ok), "a read get_user_pages succeeds");
            Assert.That(gup.Writable, Is.False, "and hands the secondary MMU a read-only page");
            Assert.That(host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void The_broken_mprotect_leaves_the_page_writable_and_get_user_pages_reports_it(CancellationToken cancellation)
    {
        var (_, after, gup, host) = MprotectDuringMigration(HostMutations.MprotectKeepsWritableMigrationEntry, cancellation);
        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsWritable(after), Is.True, "remove_migration_ptes brought the write permission back");
            Assert.That(gup.Writable, Is.True, "a secondary MMU would map read-only memory writable");
            Assert.That(host.Violations.Count(ViolationKind.WritableInReadOnlyVma), Is.EqualTo(1),
                "get_user_pages reports the writable PTE in the read-only VMA");
        });
    }
}
