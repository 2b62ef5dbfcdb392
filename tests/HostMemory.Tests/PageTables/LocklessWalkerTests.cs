using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.PageTables;

/// <summary>
/// <c>gup_fast</c> reads the page tables with no lock, interrupts off; each table-free scheme keeps a table it is inside
/// alive until it leaves, and the broken variants let the free through, which the poisoned table reports (P10).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LocklessWalkerTests
{
    private const ulong TablePages = PteTable.Entries;

    private static (HostSystem Host, AddressSpace Mm) Space(TableFreeScheme scheme, HostMutations mutations = HostMutations.None)
    {
        var host = new HostSystem(new HostOptions { RamBytes = 64L << 20, Mutations = mutations, TableFree = scheme, Cpus = 4 });
        return (host, host.CreateAddressSpace("vmm"));
    }

    [Test]
    public void Gup_fast_returns_the_mapped_page_with_a_reference_and_leaves_the_pte_alone()
    {
        var (host, mm) = Space(TableFreeScheme.Ipi);
        var at = mm.MapAnon(4);
        mm.Populate(at, 1);
        var pteBefore = mm.PteOf(at);
        var refsBefore = HostMemory.Physical.FrameState.RefCount(host.Memory.StateOf(mm.PfnAt(at)));

        Assert.That(mm.TryGetUserPageFast(at, write: true, out var gup), Is.True, "a present writable PTE is taken locklessly");
        Assert.Multiple(() =>
        {
            Assert.That(gup.Pfn, Is.EqualTo(mm.PfnAt(at)), "the page the PTE maps");
            Assert.That(gup.Writable, Is.True, "and it is writable");
            Assert.That(HostMemory.Physical.FrameState.RefCount(host.Memory.StateOf(gup.Pfn)), Is.EqualTo(refsBefore + 1), "with one more reference");
            Assert.That(mm.PteOf(at), Is.EqualTo(pteBefore), "gup_fast never writes the PTE (no FOLL_TOUCH)");
            Assert.That(host.Cpus.CpusWithIrqsOff(), Is.Zero, "interrupts are back on");
        });
        host.Memory.Put(gup.Pfn);
    }

    [Test]
    public void Gup_fast_gives_up_where_only_the_locked_gup_can_decide()
    {
        var (host, mm) = Space(TableFreeScheme.Ipi);
        var at = mm.MapAnon(4);
        Assert.That(mm.TryGetUserPageFast(at, write: false, out _), Is.False, "no table yet: the fault is the locked path's");
        _ = mm.ReadWord(at.AddPages(1)); // maps the zero page read-only
        Assert.Multiple(() =>
        {
            Assert.That(mm.TryGetUserPageFast(at.AddPages(1), write: false, out _), Is.False, "the zero page is special");
            Assert.That(mm.TryGetUserPageFast(at.AddPages(1), write: true, out _), Is.False, "a read-only PTE cannot serve a write");
            Assert.That(mm.TryGetUserPageFast(at.AddPages(2), write: false, out _), Is.False, "an empty PTE needs a fault");
            Assert.That(host.Read(HostCounter.GupFastFallbacks), Is.EqualTo(4), "each counted as a fallback");
        });
    }

    [TestCase(TableFreeScheme.Ipi)]
    [TestCase(TableFreeScheme.WalkerCounter)]
    [CancelAfter(30_000)]
    public void A_munmap_waits_for_a_walker_inside_the_table_it_frees(TableFreeScheme scheme, CancellationToken token)
    {
        var (host, mm) = Space(scheme);
        var at = mm.MapAnon(TablePages);
        mm.Populate(at, TablePages);
        using var parked = new ParkedWalker(host, mm, at);

        using var unmap = TestThread.Start("munmap", () => mm.Munmap(at, TablePages * Hva.PageSize));
        Assert.That(unmap.WaitDone(TestHosts.BlockedProbe, token), Is.False, "the free waits for the CPU that has interrupts off");
        Assert.That(host.Read(HostCounter.PageTablesFreed), Is.Zero, "and the table is still allocated");

        parked.Release();
        unmap.Join(TestHosts.MustHappen, token);
        parked.Join(token);
        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.PageTablesFreed), Is.EqualTo(1), "freed once the walker left");
            Assert.That(host.Violations.Total, Is.Zero, "the walker never saw a freed table");
            Assert.That(host.Read(HostCounter.IpiWaits), Is.GreaterThan(0), "the IPI had to wait for that CPU");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Under_rcu_munmap_returns_at_once_and_the_table_is_freed_when_the_walker_leaves(CancellationToken token)
    {
        var (host, mm) = Space(TableFreeScheme.Rcu);
        var at = mm.MapAnon(TablePages);
        mm.Populate(at, TablePages);
        using var parked = new ParkedWalker(host, mm, at);

        Assert.That(mm.Munmap(at, TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap does not wait");
        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.PageTablesFreed), Is.Zero, "the table waits for the grace period");
            Assert.That(host.Cpus.RcuPending, Is.EqualTo(1), "in one call_rcu batch");
        });

        parked.Release();
        parked.Join(token);
        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.PageTablesFreed), Is.EqualTo(1), "the walker's local_irq_restore ended the grace period");
            Assert.That(host.Cpus.RcuPending, Is.Zero, "nothing is left queued");
            Assert.That(host.Violations.Total, Is.Zero, "the walker never saw a freed table");
        });
    }

    [TestCase(TableFreeScheme.Ipi)]
    [TestCase(TableFreeScheme.Rcu)]
    [TestCase(TableFreeScheme.WalkerCounter)]
    [CancelAfter(30_000)]
    public void Without_any_sync_the_free_under_a_parked_walker_is_reported(TableFreeScheme scheme, CancellationToken token)
    {
        var (host, mm) = Space(scheme, HostMutations.TableFreeNoSync);
        AssertFreeUnderWalkerIsCaught(host, mm, token);
    }

    [Test]
    [CancelAfter(30_000)]
    public void The_walker_counter_without_its_barrier_lets_the_free_through_and_is_caught(CancellationToken token)
    {
        var (host, mm) = Space(TableFreeScheme.WalkerCounter, HostMutations.WalkerCounterNoBarrier);
        AssertFreeUnderWalkerIsCaught(host, mm, token);
    }

    [Test]
    public void The_walker_counter_sends_no_ipi_when_no_walker_is_counted_and_ipi_always_does()
    {
        var (counterHost, counterMm) = Space(TableFreeScheme.WalkerCounter);
        var (ipiHost, ipiMm) = Space(TableFreeScheme.Ipi);
        foreach (var mm in new[] { counterMm, ipiMm })
        {
            var at = mm.MapAnon(TablePages);
            mm.Populate(at, TablePages);
            Assert.That(mm.Munmap(at, TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap succeeds");
        }

        Assert.Multiple(() =>
        {
            Assert.That(counterHost.Read(HostCounter.IpisSent), Is.Zero, "a zero count skips serialize_against_pte_lookup");
            Assert.That(ipiHost.Read(HostCounter.IpisSent), Is.EqualTo(ipiHost.Cpus.Count), "the IPI scheme interrupts every CPU");
            Assert.That(counterHost.Read(HostCounter.PageTablesFreed), Is.EqualTo(1), "the table is freed either way");
        });
    }

    private static void AssertFreeUnderWalkerIsCaught(HostSystem host, AddressSpace mm, CancellationToken token)
    {
        var at = mm.MapAnon(TablePages);
        mm.Populate(at, TablePages);
        using var parked = new ParkedWalker(host, mm, at);

        Assert.That(mm.Munmap(at, TablePages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap goes through");
        Assert.That(host.Read(HostCounter.PageTablesFreed), Is.EqualTo(1), "and frees the table the walker is in");
        parked.Release();
        parked.Join(token);
        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Count(PteTable.PageTableUseAfterFree), Is.GreaterThan(0), "the walker read a freed table");
            Assert.That(parked.Found, Is.False, "and got no page from it");
        });
    }

    /// <summary>A <c>gup_fast</c> parked inside its IRQ-off section right after it read the PMD of <c>at</c>.</summary>
    private sealed class ParkedWalker : IDisposable
    {
        private readonly ManualResetEventSlim _inside = new();
        private readonly ManualResetEventSlim _release = new();
        private readonly HostSystem _host;
        private readonly TestThread _thread;

        public ParkedWalker(HostSystem host, AddressSpace mm, Hva at)
        {
            _host = host;
            host.LocklessWalkObserver = (_, _) =>
            {
                _inside.Set();
                _release.Wait(TestHosts.MustHappen);
            };
            _thread = TestThread.Start("gup_fast", () =>
            {
                Found = mm.TryGetUserPageFast(at, write: false, out var gup);
                if (Found)
                {
                    host.Memory.Put(gup.Pfn);
                }
            });
            if (!_inside.Wait(TestHosts.MustHappen))
            {
                throw new TimeoutException("the walker never reached its PMD read");
            }

            host.LocklessWalkObserver = null; // only the parked walk waits
        }

        public bool Found { get; private set; }

        public void Release() => _release.Set();

        public void Join(CancellationToken token) => _thread.Join(TestHosts.MustHappen, token);

        public void Dispose()
        {
            _release.Set();
            _thread.Dispose();
            _inside.Dispose();
            _release.Dispose();
            _host.LocklessWalkObserver = null;
        }
    }
}
