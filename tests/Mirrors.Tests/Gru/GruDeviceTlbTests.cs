using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.Mirrors.Common;
using Hypervisor.Mirrors.Gru;
using Hypervisor.Mirrors.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests.Gru;

/// <summary>The GRU-like device TLB under both notifier profiles: drop-ins, purges, the kill bit, the broken variant.</summary>
[CancelAfter(30_000)]
public sealed class GruDeviceTlbTests
{
    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void The_coprocessor_reads_and_writes_through_its_tlb_and_an_unmap_purges_it(NotifierProfile profile)
    {
        var (host, mm) = Hosts.WithSpace(profile);
        var gru = new GruDeviceTlb(mm, "gru0");
        var ptr = mm.MapAnon(4);
        mm.Fill(ptr, 4, i => 100 + i);

        Assert.That(gru.Access(ptr.AddPages(1), write: false, 0, out var read), Is.EqualTo(HostStatus.Ok), "read");
        Assert.That(gru.Access(ptr.AddPages(2), write: true, 42, out _), Is.EqualTo(HostStatus.Ok), "write");
        var entries = gru.TlbEntries;
        Assert.That(mm.MadviseDontNeed(ptr, 4 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(101UL), "the coprocessor reads the process's memory");
            Assert.That(entries, Is.EqualTo(2), "two drop-ins filled the TLB");
            Assert.That(gru.TlbEntries, Is.Zero, "the invalidation purged them");
            Assert.That(gru.Access(ptr.AddPages(2), write: false, 0, out var after), Is.EqualTo(HostStatus.Ok), "access after");
            Assert.That(after, Is.Zero, "a drop-in after the purge maps the page as it is now");
            Assert.That(gru.CheckCoherence(), Is.Zero, "the TLB matches the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void A_drop_in_that_looked_up_the_old_pte_is_killed_by_the_purge_and_the_instruction_restarts(NotifierProfile profile)
    {
        var (host, mm) = Hosts.WithSpace(profile);
        var gru = new GruDeviceTlb(mm, "gru0");
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 5);
        var fired = 0;
        gru.AfterLookup = hva =>
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                mm.MadviseDontNeed(hva, Hva.PageSize); // the old page is freed while the drop-in holds its pfn
            }
        };

        var status = gru.Access(ptr, write: false, 0, out var read);

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HostStatus.Ok), "the access completes");
            Assert.That(gru.KilledDropins, Is.EqualTo(1), "the purge set the kill bit on the drop-in in flight");
            Assert.That(read, Is.Zero, "the restarted instruction reads the page as it is now");
            Assert.That(gru.CheckCoherence(), Is.Zero, "no stale TLB entry");
            Assert.That(host.Violations.Total, Is.Zero, "the freed frame was never used");
        });
    }

    [Test]
    public void Between_start_and_end_an_atomic_drop_in_falls_back_to_the_user_path_which_waits_for_the_end()
    {
        var (host, mm) = Hosts.WithSpace();
        var gru = new GruDeviceTlb(mm, "gru0");
        var ptr = mm.MapAnon(2);
        mm.Fill(ptr, 2, i => i + 1);
        var range = new NotifierRange(ptr.AddPages(1), ptr.AddPages(2), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "start");

        ulong read = 0;
        var access = new Thread(() => gru.Access(ptr, write: false, 0, out read)) { Name = "gru-access" };
        access.Start();
        var waited = !access.Join(TimeSpan.FromMilliseconds(200));
        mm.Notifiers.InvalidateRangeEnd(range);

        Assert.Multiple(() =>
        {
            Assert.That(waited, Is.True, "ms_range_active is per mm, not per range: the user drop-in waits for the end");
            Assert.That(access.Join(TimeSpan.FromSeconds(10)), Is.True, "and completes after it");
            Assert.That(gru.UserFallbacks, Is.EqualTo(1), "the atomic drop-in switched to user polling");
            Assert.That(read, Is.EqualTo(1UL), "the value");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void Mutation_gru_no_purge_is_caught_the_tlb_reads_a_freed_frame(NotifierProfile profile)
    {
        var (host, mm) = Hosts.WithSpace(profile);
        var gru = new GruDeviceTlb(mm, "gru0", MirrorMutations.GruNoPurge);
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 5);
        Assert.That(gru.Access(ptr, write: false, 0, out _), Is.EqualTo(HostStatus.Ok), "fill the TLB");
        Assert.That(mm.MadviseDontNeed(ptr, Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");

        gru.Access(ptr, write: false, 0, out _);

        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Count(ViolationKind.UseAfterFree), Is.EqualTo(1), "the unpurged entry reads the freed frame");
            Assert.That(gru.CheckCoherence(), Is.EqualTo(1), "and the checker finds the stale entry");
        });
    }
}
