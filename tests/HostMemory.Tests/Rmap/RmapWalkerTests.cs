using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Rmap;

/// <summary>
/// Reverse-map walkers (reclaim, aging, writeback, migration) find mappings from the page, hold the rmap lock and the
/// page-table lock but never an mmap lock, and so run concurrently with munmap, mprotect, fork and exit of the same
/// range, as in Linux.
/// </summary>
[TestFixture]
public sealed class RmapWalkerTests
{
    private static HostSystem NewHost(HostMutations mutations = HostMutations.None) =>
        TestHosts.Host(ramBytes: 64L << 20, mutations: mutations, swapBytes: 64L << 20);

    [Test]
    public void A_walk_from_a_page_shared_by_fork_visits_the_parent_and_the_child()
    {
        var host = NewHost();
        using var manager = new HostMemoryManager(host);
        var parent = host.CreateAddressSpace("parent");
        var at = parent.MapAnon(4);
        parent.Populate(at, 4);
        var child = parent.Fork("child");
        var visited = new List<(string Mm, Hva At)>();
        host.RmapVisitObserver = (mm, hva) => visited.Add((mm.Name, hva));

        manager.AgeAll();

        Assert.Multiple(() =>
        {
            Assert.That(visited.Count(v => v.Mm == "parent"), Is.EqualTo(4), "every parent mapping is visited (anon_vma of the page)");
            Assert.That(visited.Count(v => v.Mm == "child"), Is.EqualTo(4), "and every child mapping (anon_vma_fork linked the child's VMA)");
            Assert.That(visited.Where(v => v.Mm == "child").Select(v => v.At), Is.EquivalentTo(visited.Where(v => v.Mm == "parent").Select(v => v.At)),
                "fork keeps addresses");
        });
        child.Exit();
        parent.Exit();
    }

    [Test]
    public void A_file_page_is_found_through_i_mmap_in_every_address_space_mapping_the_file()
    {
        var host = NewHost();
        using var manager = new HostMemoryManager(host);
        var file = host.CreateFile("data", 16);
        var a = host.CreateAddressSpace("a");
        var b = host.CreateAddressSpace("b");
        var inA = a.Mmap(16 * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file);
        var inB = b.Mmap(8 * Hva.PageSize, VmaKind.FileShared, Protection.Read, file, filePageOffset: 8);
        Assert.That(a.HostWrite(inA.AddPages(9), 99), Is.EqualTo(HostStatus.Ok));
        Assert.That(b.HostRead(inB.AddPages(1), out var seen), Is.EqualTo(HostStatus.Ok));
        Assert.That(seen, Is.EqualTo(99UL), "b maps file page 9 at its page 1");
        var visited = new List<(string Mm, Hva At)>();
        host.RmapVisitObserver = (mm, hva) => visited.Add((mm.Name, hva));

        manager.AgeAll();

        Assert.That(visited, Is.EquivalentTo(new[] { ("a", inA.AddPages(9)), ("b", inB.AddPages(1)) }),
            "the walk of file page 9 visits both VMAs at the address each maps it");
    }

    [Test]
    [CancelAfter(60_000)]
    public void Walkers_hold_no_mmap_lock_while_munmap_mprotect_fork_and_exit_run_on_the_same_range(CancellationToken token)
    {
        const int seed = 1103;
        TestContext.Out.WriteLine($"seed {seed}");
        var host = NewHost();
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var visits = 0L;
        var lockHeld = 0L;
        host.RmapVisitObserver = (space, _) =>
        {
            Interlocked.Increment(ref visits);
            if (space.MmapLockHeldByCurrentThread)
            {
                Interlocked.Increment(ref lockHeld);
            }
        };
        var stop = false;
        var walkers = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                manager.AgeAll();
                manager.ReclaimPass(64);
                manager.MigrateRandomPages(8, new Random(seed));
            }
        })
        { IsBackground = true, Name = "rmap-walkers" };
        walkers.Start();

        var random = new Random(seed);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        var rounds = 0;
        while (DateTime.UtcNow < deadline && !token.IsCancellationRequested)
        {
            var space = host.CreateAddressSpace($"space-{rounds}");
            var at = space.MapAnon(1024);
            space.Populate(at, 1024);
            var child = space.Fork($"child-{rounds}");
            Assert.That(space.Mprotect(at.AddPages(256), 256 * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok));
            Assert.That(space.Munmap(at.AddPages((ulong)random.Next(512)), 256 * Hva.PageSize), Is.EqualTo(HostStatus.Ok));
            child.Exit();
            space.Exit();
            rounds++;
        }

        Volatile.Write(ref stop, true);
        Assert.That(walkers.Join(TestHosts.MustHappen), Is.True, "the walkers stop");
        // A swap-cache page whose last swap PTE an exit zapped while reclaim held its lock stays cached until the next
        // pass (free_swap_and_cache only try-locks it), as in the kernel: one more pass frees it.
        manager.ReclaimPass(int.MaxValue);
        Assert.Multiple(() =>
        {
            Assert.That(Interlocked.Read(ref visits), Is.GreaterThan(0), "the walkers visited mappings while the spaces changed");
            Assert.That(Interlocked.Read(ref lockHeld), Is.Zero, "no walker held the mmap lock of the space it walked");
            Assert.That(rounds, Is.GreaterThan(0), "munmap, mprotect, fork and exit ran meanwhile");
            Assert.That(host.Violations.Total, Is.Zero, "no violation: " + string.Join("; ", host.Violations.FirstOccurrences().Take(3)));
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame and page table came back");
        });
    }

    [TestCase(HostMutations.None, 0)]
    [TestCase(HostMutations.TableFreeBeforeFlush, 1)]
    [CancelAfter(30_000)]
    public void A_page_table_is_freed_only_after_the_walker_inside_it_left(HostMutations mutations, int expectedViolations, CancellationToken token)
    {
        var host = NewHost(mutations);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.MapAnon(1);
        mm.Populate(at, 1);
        using var walkerInside = new ManualResetEventSlim();
        using var tableFreed = new ManualResetEventSlim();
        host.RmapVisitObserver = (_, _) =>
        {
            walkerInside.Set();
            // Park inside the table; the intact order makes munmap wait for us at the unlink, so stop waiting after a while.
            tableFreed.Wait(TestHosts.BlockedProbe, token);
        };
        var aging = new Thread(() => manager.AgeAll()) { IsBackground = true, Name = "aging" };
        aging.Start();
        Assert.That(walkerInside.Wait(TestHosts.MustHappen, token), Is.True, "the walker is inside the page table");

        var freedBefore = host.Read(HostCounter.PageTablesFreed);
        var unmapper = new Thread(() =>
        {
            mm.Munmap(at, Hva.PageSize);
            tableFreed.Set();
        })
        { IsBackground = true, Name = "munmap" };
        unmapper.Start();
        Thread.Sleep(50);
        var freedWhileInside = host.Read(HostCounter.PageTablesFreed) - freedBefore;
        Assert.That(aging.Join(TestHosts.MustHappen) && unmapper.Join(TestHosts.MustHappen), Is.True, "both finish");

        Assert.Multiple(() =>
        {
            Assert.That(freedWhileInside, Is.EqualTo(expectedViolations == 0 ? 0 : 1),
                expectedViolations == 0 ? "free_pgtables waited at the rmap unlink for the walker" : "the broken order freed the table under the walker");
            Assert.That(host.Violations.Count(PteTable.PageTableUseAfterFree), expectedViolations == 0 ? Is.Zero : Is.GreaterThanOrEqualTo(expectedViolations),
                "a table freed under a walker is a page-table use-after-free");
            Assert.That(host.Read(HostCounter.PageTablesFreed) - freedBefore, Is.EqualTo(1), "the table was freed in the end");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Registering_a_notifier_waits_for_an_rmap_walker_inside_its_notifier_section(CancellationToken token)
    {
        var host = NewHost();
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm", NotifierProfile.Modern);
        var at = mm.MapAnon(1);
        mm.Populate(at, 1);
        var log = new EventLog();
        mm.RegisterNotifier(new RecordingNotifier("first", log));
        using var walkerInside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var parkOnce = 1;
        host.RmapVisitObserver = (_, _) =>
        {
            if (host.Read(HostCounter.InvalidateRangeStarts) > 0 && Interlocked.Exchange(ref parkOnce, 0) == 1)
            {
                walkerInside.Set();
                release.Wait(TestHosts.MustHappen, token);
            }
        };
        // Reclaim's try_to_unmap runs its range start before entering the table: park it there, section open.
        var reclaim = new Thread(() => manager.Reclaim.ReclaimPass(1)) { IsBackground = true, Name = "reclaim" };
        reclaim.Start();
        Assert.That(walkerInside.Wait(TestHosts.MustHappen, token), Is.True, "the walker is inside its start/end section");

        var late = new RecordingNotifier("late", log);
        var registration = new Thread(() => mm.RegisterNotifier(late)) { IsBackground = true, Name = "register" };
        registration.Start();
        var registeredWhileOpen = registration.Join(TestHosts.BlockedProbe);
        release.Set();
        Assert.That(reclaim.Join(TestHosts.MustHappen) && registration.Join(TestHosts.MustHappen), Is.True, "both finish");

        Assert.Multiple(() =>
        {
            Assert.That(registeredWhileOpen, Is.False, "mm_take_all_locks made the registration wait for the walker's anon_vma lock");
            Assert.That(late.CallsOf(CallbackKind.InvalidateRangeEnd), Is.Empty, "the late notifier never sees the end of a section it did not see start");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
