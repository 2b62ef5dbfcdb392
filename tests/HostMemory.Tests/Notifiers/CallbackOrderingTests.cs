using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>
/// Which callbacks each host operation sends, in which order, and what the host state is at each callback, for both
/// notifier profiles (range operations are the same in both; copy-on-write differs and has its own fixture).
/// </summary>
[TestFixture(NotifierProfile.Modern)]
[TestFixture(NotifierProfile.Legacy2008)]
public sealed class CallbackOrderingTests
{
    private const ulong Pages = 8;
    private readonly NotifierProfile _profile;

    public CallbackOrderingTests(NotifierProfile profile) => _profile = profile;

    [Test]
    public void Munmap_brackets_the_pte_clear_with_one_unmap_range_and_frees_frames_only_after_start_returned()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        var hva = at.AddPages(3);
        var pfn = mm.PfnAt(hva);
        var kvm = Register(mm, hva, pfn);

        Assert.That(mm.Munmap(at, Pages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap of a mapped region succeeds");

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
            $"munmap sends exactly one start/end pair and nothing else:\n{kvm.Log.Dump()}");
        var (start, end) = (calls[0], calls[1]);
        Assert.Multiple(() =>
        {
            AssertRange(start, at, at.AddPages(Pages), NotifierEvent.Unmap, InvalidationCause.Munmap);
            AssertRange(end, at, at.AddPages(Pages), NotifierEvent.Unmap, InvalidationCause.Munmap);
            Assert.That(start.PresentAt(hva), Is.True, "at start the PTE is still present (rule 1: start runs while pages are mapped)");
            Assert.That(start.PfnAt(hva), Is.EqualTo(pfn), "at start the PTE still maps the original frame");
            Assert.That(start.Frame(pfn).IsFree, Is.False, "at start the frame is not free");
            Assert.That(start.Frame(pfn).RefCount, Is.GreaterThanOrEqualTo(1), "at start the frame is still referenced");
            Assert.That(end.PteAt(hva), Is.Zero, "at end the PTE is gone");
            Assert.That(end.Frame(pfn).IsFree, Is.False, "this host frees after end, like tlb_finish_mmu without a full batch");
            Assert.That(end.ThreadId, Is.EqualTo(start.ThreadId), "start and end run on the thread doing the munmap");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "once munmap returned the frame is free");
            Assert.That(mm.Vmas, Is.Empty, "the VMA is gone");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "the section is closed");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Madvise_dontneed_brackets_the_zap_with_one_clear_range_and_the_page_reads_back_as_zero()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        var hva = at.AddPages(5);
        var pfn = mm.PfnAt(hva);
        var kvm = Register(mm, hva, pfn);

        Assert.That(mm.MadviseDontNeed(at.AddPages(4), 4 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise of mapped pages succeeds");

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
            $"madvise sends exactly one start/end pair:\n{kvm.Log.Dump()}");
        var (start, end) = (calls[0], calls[1]);
        Assert.Multiple(() =>
        {
            AssertRange(start, at.AddPages(4), at.AddPages(8), NotifierEvent.Clear, InvalidationCause.MadviseDontNeed);
            AssertRange(end, at.AddPages(4), at.AddPages(8), NotifierEvent.Clear, InvalidationCause.MadviseDontNeed);
            Assert.That(start.PfnAt(hva), Is.EqualTo(pfn), "at start the PTE still maps the frame");
            Assert.That(start.Frame(pfn).IsFree, Is.False, "at start the frame is not free");
            Assert.That(end.PteAt(hva), Is.Zero, "at end the PTE is cleared");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "after madvise the anonymous frame is freed");
            Assert.That(mm.ReadWord(hva), Is.Zero, "private anonymous memory reads back as zero after DONTNEED");
            Assert.That(mm.ReadWord(at.AddPages(3)), Is.EqualTo(0x1003UL), "a page outside the range keeps its value");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "the section is closed");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Mprotect_to_read_only_write_protects_the_ptes_inside_one_protection_vma_range()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        var hva = at.AddPages(1);
        var pfn = mm.PfnAt(hva);
        var kvm = Register(mm, hva, pfn);

        Assert.That(mm.Mprotect(at, Pages * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok), "mprotect succeeds");

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
            $"mprotect sends exactly one start/end pair:\n{kvm.Log.Dump()}");
        var (start, end) = (calls[0], calls[1]);
        Assert.Multiple(() =>
        {
            AssertRange(start, at, at.AddPages(Pages), NotifierEvent.ProtectionVma, InvalidationCause.Mprotect);
            AssertRange(end, at, at.AddPages(Pages), NotifierEvent.ProtectionVma, InvalidationCause.Mprotect);
            Assert.That(start.WritableAt(hva), Is.True, "at start the PTE is still writable");
            Assert.That(end.PresentAt(hva), Is.True, "mprotect keeps the page mapped");
            Assert.That(end.WritableAt(hva), Is.False, "at end the PTE is read-only");
            Assert.That(end.PfnAt(hva), Is.EqualTo(pfn), "the frame does not change");
            Assert.That(mm.HostWrite(hva, 1), Is.EqualTo(HostStatus.AccessDenied), "a write to the read-only VMA is refused");
            Assert.That(mm.ReadWord(hva), Is.EqualTo(0x1001UL), "the content is unchanged");
            Assert.That(host.Memory.IsFree(pfn), Is.False, "mprotect frees nothing");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Mprotect_adding_write_still_brackets_and_leaves_the_pte_read_only_until_the_next_write_fault()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        Assert.That(mm.Mprotect(at, Pages * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok), "write-protect first");
        var hva = at.AddPages(2);
        var pfn = mm.PfnAt(hva);
        var kvm = Register(mm, hva, pfn);

        Assert.That(mm.Mprotect(at, Pages * Hva.PageSize, Protection.ReadWrite), Is.EqualTo(HostStatus.Ok), "mprotect back to read-write");
        var afterMprotect = mm.PteOf(hva);
        Assert.That(mm.HostWrite(hva, 7), Is.EqualTo(HostStatus.Ok), "the write now faults and succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(kvm.Calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
                $"mprotect brackets even when only adding permissions, and reusing an exclusive page sends nothing:\n{kvm.Log.Dump()}");
            Assert.That(Pte.IsWritable(afterMprotect), Is.False, "adding write does not make the PTE writable by itself");
            Assert.That(mm.PfnAt(hva), Is.EqualTo(pfn), "an exclusive anonymous page is reused, not copied");
            Assert.That(host.Read(HostCounter.WriteProtectReuses), Is.EqualTo(1), "one write-protect fault reused the page");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Fork_write_protects_each_private_vma_of_the_parent_inside_a_protection_page_range()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var first = mm.MapAnon(Pages);
        var shared = mm.Mmap(Pages * Hva.PageSize, VmaKind.AnonymousShared, Protection.ReadWrite);
        var second = mm.MapAnon(Pages);
        mm.Populate(first, Pages);
        mm.Populate(shared, Pages);
        mm.Populate(second, Pages);
        var (a, s, b) = (first.AddPages(2), shared.AddPages(2), second.AddPages(6));
        var kvm = Register(mm, a, mm.PfnAt(a));
        kvm.Watch(s).Watch(b);

        var child = mm.Fork("child");

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[]
            {
                CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd,
                CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd,
            }),
            $"one start/end pair per private VMA, none for the shared one:\n{kvm.Log.Dump()}");
        Assert.Multiple(() =>
        {
            AssertRange(calls[0], first, first.AddPages(Pages), NotifierEvent.ProtectionPage, InvalidationCause.Fork);
            AssertRange(calls[1], first, first.AddPages(Pages), NotifierEvent.ProtectionPage, InvalidationCause.Fork);
            AssertRange(calls[2], second, second.AddPages(Pages), NotifierEvent.ProtectionPage, InvalidationCause.Fork);
            AssertRange(calls[3], second, second.AddPages(Pages), NotifierEvent.ProtectionPage, InvalidationCause.Fork);
            Assert.That(calls[0].WritableAt(a), Is.True, "at start the parent's private PTE is still writable");
            Assert.That(calls[1].WritableAt(a), Is.False, "at end the parent's private PTE is read-only");
            Assert.That(calls[1].PresentAt(a), Is.True, "fork keeps the parent's page mapped");
            Assert.That(calls[2].WritableAt(b), Is.True, "the second VMA is still writable at its own start");
            Assert.That(calls[3].WritableAt(b), Is.False, "and read-only at its end");
            Assert.That(calls[3].WritableAt(s), Is.True, "the shared mapping is never write-protected");
            Assert.That(Pte.IsWritable(child.PteOf(a)), Is.False, "the child's private PTE is read-only too");
            Assert.That(child.PfnAt(a), Is.EqualTo(mm.PfnAt(a)), "the child shares the parent's frame until a write");
            Assert.That(child.Notifiers.HasNotifiers, Is.False, "the child starts with no notifiers");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Exit_calls_release_exactly_once_before_any_frame_is_freed_and_sends_no_range_callbacks()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        var hva = at.AddPages(4);
        var pfn = mm.PfnAt(hva);
        var kvm = Register(mm, hva, pfn);

        mm.Exit();

        var calls = kvm.Calls;
        Assert.That(calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.Release }),
            $"exit sends Release and nothing else:\n{kvm.Log.Dump()}");
        Assert.Multiple(() =>
        {
            Assert.That(calls[0].Frame(pfn).IsFree, Is.False, "inside Release the mapped frame is not yet free");
            Assert.That(calls[0].PfnAt(hva), Is.EqualTo(pfn), "inside Release the PTE still maps it");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "after exit the frame is free");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame but the zero page is free");
            Assert.That(mm.PageTable.PteTableCount, Is.Zero, "exit frees the page tables");
            Assert.That(mm.IsDead, Is.True, "the address space is dead");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Host_access_to_a_present_writable_page_sends_no_callbacks()
    {
        var (host, mm) = TestHosts.WithSpace(_profile);
        var at = mm.MapAnon(Pages);
        mm.Populate(at, Pages);
        var hva = at.AddPages(7);
        var kvm = Register(mm, hva, mm.PfnAt(hva));

        Assert.That(mm.HostWrite(hva, 99), Is.EqualTo(HostStatus.Ok), "write to a present writable page");
        var value = mm.ReadWord(hva);
        var gup = mm.GetUserPages(hva, write: true);
        host.Memory.Put(gup.Pfn);

        Assert.Multiple(() =>
        {
            Assert.That(kvm.Calls, Is.Empty, $"no callback for accesses that change no mapping:\n{kvm.Log.Dump()}");
            Assert.That(value, Is.EqualTo(99UL), "the write landed");
            Assert.That(gup.Status, Is.EqualTo(HostStatus.Ok), "get_user_pages on a present page succeeds");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    private static RecordingNotifier Register(AddressSpace mm, Hva hva, Pfn pfn)
    {
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(hva).Watch(pfn);
        mm.RegisterNotifier(kvm);
        return kvm;
    }

    private static void AssertRange(NotifierCall call, Hva start, Hva end, NotifierEvent evt, InvalidationCause cause)
    {
        Assert.That(call.Start, Is.EqualTo(start), $"{call.Kind} covers the operation's first page");
        Assert.That(call.End, Is.EqualTo(end), $"{call.Kind} ends where the operation ends");
        Assert.That(call.Event, Is.EqualTo(evt), $"{call.Kind} carries the kernel's event for this operation");
        Assert.That(call.Cause, Is.EqualTo(cause), $"{call.Kind} names the host operation");
        Assert.That(call.Blockable, Is.True, $"{call.Kind} of an ordinary operation is blockable");
    }
}
