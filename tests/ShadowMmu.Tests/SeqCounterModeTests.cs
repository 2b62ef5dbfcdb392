using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// How <c>mmu_invalidate_seq</c> is raised (seeds/000: "It doesn't even need to be atomic" / "Unless there is
/// additional locking in your fault path, I think it does need to be atomic"), with one interleaving forced by hooks:
/// end A loads the sequence and is preempted; end B raises it; a fault samples B's value and resolves page x; end C
/// (of an invalidation of x) raises it again; A stores its stale value plus one, which equals the fault's sample. Only a
/// plain increment outside the lock loses C's update, and then the fault installs the page C removed.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class SeqCounterModeTests
{
    private const ulong PageA = 10;
    private const ulong PageB = 11;
    private const ulong PageX = 20;

    [TestCase(SeqCounterMode.UnderLock, false)]
    [TestCase(SeqCounterMode.AtomicOutsideLock, false)]
    [TestCase(SeqCounterMode.PlainOutsideLock, true)]
    public void A_lost_sequence_update_lets_a_fault_install_a_removed_page_only_with_a_plain_increment_outside_the_lock(SeqCounterMode mode, bool lost)
    {
        using var aParked = new ManualResetEventSlim();
        using var aGo = new ManualResetEventSlim();
        var increments = 0;
        var host = new HostSystem(new HostOptions { RamBytes = 64L << 20 });
        var mm = host.CreateAddressSpace("vmm", NotifierProfile.Modern);
        var at = mm.Mmap(64 * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        Thread? endA = null;
        var hookRan = 0;
        using var vm = new VirtualMachine("guest", mm, [new Memslot(0, 0, 64, at)], new VmOptions
        {
            PfnCaches = false,
            LocklessPreCheck = false,
            SeqCounter = mode,
            BetweenSeqLoadAndStore = () =>
            {
                if (Interlocked.Increment(ref increments) == 1)
                {
                    // End A: preempted between its load and its store.
                    aParked.Set();
                    aGo.Wait();
                }
            },
            AfterGetUserPages = gfn =>
            {
                if (gfn.Value != PageX || Interlocked.Exchange(ref hookRan, 1) != 0)
                {
                    return;
                }

                // Invalidation C of page x while the fault holds its old pfn, then end A finishes.
                Assert.That(mm.MadviseDontNeed(at.AddPages(PageX), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise of x");
                aGo.Set();
                Assert.That(endA!.Join(10_000), Is.True, "end A finishes");
            },
        });
        foreach (var page in new[] { PageA, PageB, PageX })
        {
            Assert.That(mm.HostWrite(at.AddPages(page), 0xAA00 + page), Is.EqualTo(HostStatus.Ok), "the VMM populates the page");
        }

        var oldX = HostMemory.PageTables.Pte.PfnOf(mm.PteOf(at.AddPages(PageX)));
        endA = new Thread(() => mm.MadviseDontNeed(at.AddPages(PageA), Hva.PageSize)) { Name = "end-a", IsBackground = true };
        endA.Start();
        // A parks only where a plain increment has a window between load and store; otherwise it just finishes.
        Assert.That(SpinWait.SpinUntil(() => aParked.IsSet || !endA.IsAlive, 10_000), Is.True, "end A parked or finished");
        Assert.That(mm.MadviseDontNeed(at.AddPages(PageB), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "invalidation B");

        var vcpu = vm.Vcpus[0];
        vcpu.EnterGuest();
        var result = vcpu.Access(new Gfn(PageX), write: false, 0);
        vcpu.ExitGuest();
        var spte = vm.Table.Read(PageX);
        if (lost)
        {
            Assert.Multiple(() =>
            {
                Assert.That(Spte.PfnOf(spte), Is.EqualTo(oldX), "the lost update let the fault install the page invalidation C removed");
                Assert.That(host.Violations.Total, Is.GreaterThan(0), "and the monitor reports it");
            });
        }
        else
        {
            Assert.Multiple(() =>
            {
                Assert.That(Spte.PfnOf(spte), Is.Not.EqualTo(oldX), "no update is lost: the fault retried");
                Assert.That(result.Value, Is.Zero, "x reads as zero after DONTNEED");
                Assert.That(host.Violations.Total, Is.Zero, "no violation");
            });
        }
    }
}
