using Hypervisor.GuestModel.Running;
using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Names whose variants are caught by deterministic tests rather than by a race-hunt run: the name must select exactly
/// the variant those tests exercise.
/// </summary>
public sealed class MutationCatalogTests
{
    [Test]
    public void Register_without_pin_selects_the_host_variant_that_ReattachExitTests_catches()
    {
        // register-without-pin: a registration during the last exit's release is caught deterministically by
        // ShadowMmu.Tests ReattachExitTests (the parked-thread test), and by reregister-exit.yaml about one run in three.
        Assert.That(MutationCatalog.TryParse("register-without-pin", out var mutation), Is.True, "the name is known");
        Assert.Multiple(() =>
        {
            Assert.That(mutation.Host, Is.EqualTo(HostMutations.RegisterWithoutPin), "it removes the registration's mmget/mmput pin");
            Assert.That(mutation.Shadow, Is.EqualTo(ShadowMutations.None), "and nothing on the KVM side");
            Assert.That(MutationCatalog.Names, Does.Contain("register-without-pin"), "it is listed for --mutation");
        });
    }

    [Test]
    public void Mprotect_keeps_writable_migration_entry_selects_the_host_variant_that_MigrationEntryTests_catches()
    {
        // mprotect-keeps-writable-migration-entry: caught deterministically by HostMemory.Tests MigrationEntryTests
        // (mprotect while a migration is parked in its range end) as writable-in-read-only-vma.
        Assert.That(MutationCatalog.TryParse("mprotect-keeps-writable-migration-entry", out var mutation), Is.True, "the name is known");
        Assert.Multiple(() =>
        {
            Assert.That(mutation.Host, Is.EqualTo(HostMutations.MprotectKeepsWritableMigrationEntry), "it skips change_pte_range's downgrade");
            Assert.That(mutation.Shadow, Is.EqualTo(ShadowMutations.None), "and nothing on the KVM side");
            Assert.That(MutationCatalog.Names, Does.Contain("mprotect-keeps-writable-migration-entry"), "it is listed for --mutation");
        });
    }

    [Test]
    public void The_huge_page_names_select_the_variants_that_HugeSpteTests_catch()
    {
        // thp-split-no-notify and huge-spte-partial-zap are caught deterministically by ShadowMmu.Tests HugeSpteTests
        // (a split with no range leaves a 2 MiB SPTE over host PTEs; a 4 KiB zap leaves the 2 MiB SPTE of a migrated page).
        Assert.That(MutationCatalog.TryParse("thp-split-no-notify", out var split), Is.True, "the split name is known");
        Assert.That(MutationCatalog.TryParse("huge-spte-partial-zap", out var zap), Is.True, "the zap name is known");
        Assert.Multiple(() =>
        {
            Assert.That(split.Host, Is.EqualTo(HostMutations.ThpSplitNoNotify), "the split variant breaks the host");
            Assert.That(zap.Shadow, Is.EqualTo(ShadowMutations.HugeSptePartialZap), "the zap variant breaks KVM");
            Assert.That(zap.ForcedProfile, Is.EqualTo(HostMemory.Notifiers.NotifierProfile.Legacy2008),
                "and needs the single-address invalidate_page to meet a partial range");
        });
    }
}
