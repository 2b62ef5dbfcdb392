using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Locking;
using Hypervisor.HostMemory.PageTables;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Locking;

[TestFixture]
[CancelAfter(30_000)]
public class SpinLatchTests
{
    private sealed class Guarded
    {
        public SpinLatch Latch;
        public long Value;
    }

    [Test]
    public void A_page_tables_lock_is_held_inside_the_scope_and_released_after_it()
    {
        var table = new PteTable(new Pfn(1));
        using (table.Ptl.Enter())
        {
            Assert.That(table.Ptl.IsHeld, Is.True, "Enter acted on the table's own latch, not on a copy");
        }

        Assert.That(table.Ptl.IsHeld, Is.False);
    }

    [Test]
    public void Two_threads_never_hold_it_at_once()
    {
        const int Rounds = 1_000_000;
        var guarded = new Guarded();
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                using (guarded.Latch.Enter())
                {
                    // A plain read-modify-write: two holders at once would lose increments.
                    guarded.Value++;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.That(guarded.Value, Is.EqualTo(2L * Rounds));
    }
}
