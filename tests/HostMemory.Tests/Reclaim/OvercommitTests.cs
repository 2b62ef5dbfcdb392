using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Guests holding about twice the host's RAM run on swap, through direct reclaim and kswapd.</summary>
public sealed class OvercommitTests : ReclaimFixture
{
    private const int Frames = 512;

    [Test]
    public void Twice_host_ram_of_guest_data_written_through_host_writes_reads_back_intact()
    {
        const int seed = 20_240_611;
        TestContext.Out.WriteLine($"seed {seed}");
        var host = NewHost(Frames, swapSlots: 4 * Frames);
        using var manager = new HostMemoryManager(host);
        var random = new Random(seed);
        var guests = new[] { host.CreateAddressSpace("guest-a"), host.CreateAddressSpace("guest-b") };
        var expected = guests.Select(_ => new ulong[Frames]).ToArray();
        var starts = guests.Select(g => g.Mmap(Frames * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite)).ToArray();

        for (var i = 0; i < 2 * Frames; i++)
        {
            var g = random.Next(2);
            var page = random.Next(Frames);
            expected[g][page] = (ulong)random.NextInt64(1, long.MaxValue);
            Assert.That(guests[g].HostWrite(starts[g].AddPages((ulong)page), expected[g][page]), Is.EqualTo(HostStatus.Ok),
                $"write {i} to guest {g} page {page} finds a frame (direct reclaim makes room)");
        }

        // Touch every page, so that the whole 2x RAM is resident or swapped.
        for (var g = 0; g < 2; g++)
        {
            for (var page = 0; page < Frames; page++)
            {
                if (expected[g][page] == 0)
                {
                    expected[g][page] = (ulong)page + 1;
                    Assert.That(guests[g].HostWrite(starts[g].AddPages((ulong)page), expected[g][page]), Is.EqualTo(HostStatus.Ok),
                        $"fill of guest {g} page {page} finds a frame");
                }
            }
        }

        foreach (var (g, page) in Enumerable.Range(0, 2).SelectMany(g => Enumerable.Range(0, Frames).Select(p => (g, p))).OrderBy(_ => random.Next()))
        {
            Assert.That(ReadWord(guests[g], starts[g].AddPages((ulong)page)), Is.EqualTo(expected[g][page]),
                $"guest {g} page {page} reads back what was written");
        }

        Assert.Multiple(() =>
        {
            Assert.That(host.Read(HostCounter.SwapOuts), Is.GreaterThan(Frames), "more than RAM's worth went to swap");
            Assert.That(host.Read(HostCounter.SwapIns), Is.GreaterThan(0), "and came back");
            Assert.That(host.Read(HostCounter.OutOfMemory), Is.Zero, "no allocation ever failed");
        });
        foreach (var guest in guests)
        {
            guest.Exit();
        }

        Assert.Multiple(() =>
        {
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "exit returned every frame");
            Assert.That(host.Swap.UsedSlots, Is.Zero, "and every swap slot");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void Concurrent_guests_with_kswapd_and_direct_reclaim_keep_their_content(CancellationToken cancellation)
    {
        const int seed = 77;
        TestContext.Out.WriteLine($"seed {seed}");
        var host = NewHost(Frames, swapSlots: 4 * Frames);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { LowWatermarkFrames = 32, HighWatermarkFrames = 64, KswapdBatch = 32 });
        manager.StartKswapd();
        var guests = new[] { host.CreateAddressSpace("guest-a"), host.CreateAddressSpace("guest-b") };
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = guests.Select((guest, g) => new Thread(() => RunGuest(guest, seed + g, failures, cancellation))
        {
            Name = $"writer-{guest.Name}",
            IsBackground = true,
        }).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        manager.StopKswapd();

        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "every read returned the last value written");
            Assert.That(host.Read(HostCounter.SwapOuts), Is.GreaterThan(0), "memory pressure forced swap-outs");
            Assert.That(host.Read(HostCounter.OutOfMemory), Is.Zero, "no allocation failed");
        });
    }

    /// <summary>One guest writes and re-reads its own pages in random order, checking each read against its last write.</summary>
    private static void RunGuest(AddressSpace guest, int seed, System.Collections.Concurrent.ConcurrentQueue<string> failures, CancellationToken cancellation)
    {
        var random = new Random(seed);
        var start = guest.Mmap(Frames * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        var last = new ulong[Frames];
        for (var step = 0; step < 6 * Frames && !cancellation.IsCancellationRequested; step++)
        {
            var page = random.Next(Frames);
            var hva = start.AddPages((ulong)page);
            if (random.Next(3) == 0)
            {
                var status = guest.HostRead(hva, out var value);
                if (status != HostStatus.Ok || value != last[page])
                {
                    failures.Enqueue($"{guest.Name} page {page}: {status}, read 0x{value:x}, expected 0x{last[page]:x}");
                }
            }
            else
            {
                last[page] = (ulong)random.NextInt64();
                var status = guest.HostWrite(hva, last[page]);
                if (status != HostStatus.Ok)
                {
                    failures.Enqueue($"{guest.Name} page {page}: write failed with {status}");
                }
            }
        }
    }
}
