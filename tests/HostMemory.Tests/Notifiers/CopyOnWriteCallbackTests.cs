using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>
/// The copy-on-write call site (<c>wp_page_copy</c>), where the two profiles differ: Modern brackets the PTE change
/// with a one-page Clear range; Legacy2008 calls <c>InvalidatePage</c> after the PTE change and before the old page
/// can be freed.
/// </summary>
public sealed class CopyOnWriteCallbackTests
{
    [Test]
    public void Modern_cow_after_fork_sends_one_page_clear_range_with_the_old_pte_at_start_and_the_new_one_at_end()
    {
        var (host, mm, hva, old, kvm) = ForkedPage(NotifierProfile.Modern);

        Assert.That(mm.HostWrite(hva, 0xBEEF), Is.EqualTo(HostStatus.Ok), "the parent's write after fork succeeds");

        var cow = kvm.Calls.Where(c => c.Cause == InvalidationCause.CopyOnWrite).ToList();
        Assert.That(cow.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
            $"one start/end pair for the COW and no InvalidatePage:\n{kvm.Log.Dump()}");
        var (start, end) = (cow[0], cow[1]);
        var fresh = mm.PfnAt(hva);
        Assert.Multiple(() =>
        {
            Assert.That(kvm.Calls, Has.Count.EqualTo(2), "nothing else than the COW pair is sent");
            Assert.That((start.Start, start.End), Is.EqualTo((hva, hva + Hva.PageSize)), "the range is the one faulting page");
            Assert.That(start.Event, Is.EqualTo(NotifierEvent.Clear), "COW is MMU_NOTIFY_CLEAR");
            Assert.That(start.PfnAt(hva), Is.EqualTo(old), "at start the PTE still maps the old frame");
            Assert.That(start.WritableAt(hva), Is.False, "at start the old PTE is the write-protected one");
            Assert.That(end.PfnAt(hva), Is.EqualTo(fresh), "at end the PTE maps the new frame");
            Assert.That(fresh, Is.Not.EqualTo(old), "COW installed a different frame");
            Assert.That(end.WritableAt(hva), Is.True, "the new PTE is writable");
            Assert.That(start.Frame(old).IsFree, Is.False, "the old frame is not free at start");
            Assert.That(end.ThreadId, Is.EqualTo(start.ThreadId), "start and end run on the faulting thread");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "the section is closed");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Legacy_cow_after_fork_sends_one_invalidate_page_after_the_pte_points_to_the_new_frame()
    {
        var (host, mm, hva, old, kvm) = ForkedPage(NotifierProfile.Legacy2008);

        Assert.That(mm.HostWrite(hva, 0xBEEF), Is.EqualTo(HostStatus.Ok), "the parent's write after fork succeeds");

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidatePage }),
            $"legacy COW sends exactly one InvalidatePage and no range:\n{kvm.Log.Dump()}");
        var page = calls[0];
        var fresh = mm.PfnAt(hva);
        Assert.Multiple(() =>
        {
            Assert.That(page.Start, Is.EqualTo(hva), "InvalidatePage names the faulting page");
            Assert.That(page.Cause, Is.EqualTo(InvalidationCause.CopyOnWrite), "the cause is the COW");
            Assert.That(page.PfnAt(hva), Is.EqualTo(fresh), "InvalidatePage runs after the PTE already points to the new frame");
            Assert.That(fresh, Is.Not.EqualTo(old), "COW installed a different frame");
            Assert.That(page.WritableAt(hva), Is.True, "and the new PTE is writable");
            Assert.That(page.Frame(old).IsFree, Is.False, "the old frame is not free during InvalidatePage");
            Assert.That(page.Frame(old).RefCount, Is.GreaterThan(host.Memory.RefCount(old)),
                "the COW's references on the old frame are dropped only after InvalidatePage returned");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void Cow_that_drops_the_last_reference_frees_the_old_frame_only_after_the_notifiers_are_done(NotifierProfile profile)
    {
        var (host, mm, hva, old, kvm) = SoleMappingOfAPageCachePage(profile, HostMutations.None);

        Assert.That(mm.HostWrite(hva, 0xC0FFEE), Is.EqualTo(HostStatus.Ok), "the write to the private file mapping succeeds");

        var calls = kvm.Calls;
        Assert.Multiple(() =>
        {
            Assert.That(calls, Is.Not.Empty, "the COW sent callbacks");
            Assert.That(calls.Select(c => c.Frame(old).IsFree), Has.All.False,
                $"the old frame is not free during any callback:\n{kvm.Log.Dump()}");
            Assert.That(calls.Select(c => c.Kind), profile == NotifierProfile.Modern
                    ? Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd })
                    : Is.EqualTo(new[] { CallbackKind.InvalidatePage }),
                "each profile uses its own call site");
            Assert.That(host.Memory.IsFree(old), Is.True, "after the fault the old frame, which nobody maps any more, is free");
            Assert.That(mm.ReadWord(hva), Is.EqualTo(0xC0FFEEUL), "the private copy holds the write");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Legacy_invalidate_after_free_mutation_is_observable_as_a_free_frame_inside_invalidate_page()
    {
        var (_, mm, hva, old, kvm) = SoleMappingOfAPageCachePage(NotifierProfile.Legacy2008, HostMutations.LegacyInvalidateAfterFree);

        Assert.That(mm.HostWrite(hva, 0xC0FFEE), Is.EqualTo(HostStatus.Ok), "the write succeeds");

        var page = kvm.CallsOf(CallbackKind.InvalidatePage).Single();
        Assert.That(page.Frame(old).IsFree, Is.True,
            "the broken variant frees the old page before telling the secondary, which a notifier can see");
    }

    [TestCase(NotifierProfile.Modern, CallbackKind.InvalidateRangeStart)]
    [TestCase(NotifierProfile.Legacy2008, CallbackKind.InvalidatePage)]
    public void Writing_a_page_first_mapped_by_a_read_replaces_the_zero_page_through_the_cow_call_site(NotifierProfile profile, CallbackKind expected)
    {
        var (host, mm) = TestHosts.WithSpace(profile);
        var at = mm.MapAnon(4);
        Assert.That(mm.ReadWord(at), Is.Zero, "an untouched private page reads as zero");
        Assert.That(mm.PfnAt(at), Is.EqualTo(Pfn.Zero), "the read mapped the shared zero page");
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(at);
        mm.RegisterNotifier(kvm);

        Assert.That(mm.HostWrite(at, 5), Is.EqualTo(HostStatus.Ok), "the write succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(kvm.Calls.Select(c => c.Kind), Does.Contain(expected), $"the zero page is replaced through the COW call site:\n{kvm.Log.Dump()}");
            Assert.That(kvm.Calls.Select(c => c.Cause), Has.All.EqualTo(InvalidationCause.CopyOnWrite), "every callback names the COW");
            Assert.That(mm.PfnAt(at), Is.Not.EqualTo(Pfn.Zero), "a real frame is mapped now");
            Assert.That(host.Memory.RefCount(Pfn.Zero), Is.EqualTo(1), "the zero page keeps only its permanent reference");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    /// <summary>A written private page, a fork, and a notifier registered on the parent afterwards.</summary>
    private static (HostSystem Host, AddressSpace Mm, Hva Hva, Pfn Old, RecordingNotifier Kvm) ForkedPage(NotifierProfile profile)
    {
        var (host, mm) = TestHosts.WithSpace(profile);
        var at = mm.MapAnon(4);
        mm.Populate(at, 4);
        var hva = at.AddPages(1);
        var old = mm.PfnAt(hva);
        _ = mm.Fork("child");
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(hva).Watch(old);
        mm.RegisterNotifier(kvm);
        return (host, mm, hva, old, kvm);
    }

    /// <summary>
    /// A private file mapping whose page-cache page was dropped from the cache after the read fault, so the PTE holds
    /// the only reference: the COW that replaces it frees it.
    /// </summary>
    private static (HostSystem Host, AddressSpace Mm, Hva Hva, Pfn Old, RecordingNotifier Kvm) SoleMappingOfAPageCachePage(
        NotifierProfile profile, HostMutations mutations)
    {
        var (host, mm) = TestHosts.WithSpace(profile, mutations);
        var file = host.CreateFile("disk.img", 4);
        file.WriteBacking(0, 0xF11E);
        var hva = mm.Mmap(4 * Hva.PageSize, VmaKind.FilePrivate, Protection.ReadWrite, file);
        Assert.That(mm.ReadWord(hva), Is.EqualTo(0xF11EUL), "the read fault maps the page-cache page");
        var old = mm.PfnAt(hva);
        Assert.That(file.TryRemoveFromCache(0, old), Is.True, "the page can be dropped from the cache");
        host.Memory.Put(old); // the cache's reference passed to us; now only the PTE holds the page
        Assert.That(host.Memory.RefCount(old), Is.EqualTo(1), "only the PTE references the old page now");
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(hva).Watch(old);
        mm.RegisterNotifier(kvm);
        return (host, mm, hva, old, kvm);
    }
}
