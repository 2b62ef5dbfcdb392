using System.Collections.Concurrent;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Every mechanism at once, against writers that check that memory behaves like memory.</summary>
public sealed class ConcurrentPassesTests : ReclaimFixture
{
    private const int Frames = 384;
    private const int PagesPerWriter = 256;

    // Set once the activity thread has run all its passes; the writers keep going until then.
    private int _activitiesDone;

    [Test]
    [CancelAfter(120_000)]
    public void Reclaim_migration_ksm_writeback_and_aging_running_beside_writers_lose_no_write(CancellationToken cancellation) =>
        Run(seed: 99, passes: 300, cancellation);

    [Test]
    [Explicit("soak: tens of thousands of passes over several seeds")]
    [Category("Stress")]
    [CancelAfter(1_800_000)]
    public void Soak_every_mechanism_beside_writers([Values(1, 2, 3, 4)] int seed, CancellationToken cancellation) =>
        Run(seed, passes: 20_000, cancellation);

    private void Run(int seed, int passes, CancellationToken cancellation)
    {
        _activitiesDone = 0;
        TestContext.Out.WriteLine($"seed {seed}");
        var host = NewHost(Frames, swapSlots: 4 * Frames);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { LowWatermarkFrames = 24, HighWatermarkFrames = 48, KswapdBatch = 16 });
        var file = host.CreateFile("disk.img", PagesPerWriter);
        var anonA = host.CreateAddressSpace("guest-a");
        var anonB = host.CreateAddressSpace("guest-b", NotifierProfile.Legacy2008);
        var fileUser = host.CreateAddressSpace("vmm");
        manager.Ksm.Register(anonA);
        manager.Ksm.Register(anonB);
        manager.StartKswapd();

        var failures = new ConcurrentQueue<string>();
        var writers = new[]
        {
            Writer(anonA, anonA.Mmap(PagesPerWriter * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite), seed + 1, failures, cancellation),
            Writer(anonB, anonB.Mmap(PagesPerWriter * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite), seed + 2, failures, cancellation),
            Writer(fileUser, fileUser.Mmap(PagesPerWriter * Hva.PageSize, VmaKind.FileShared, Protection.ReadWrite, file), seed + 3, failures, cancellation),
        };
        var activity = new Thread(() =>
        {
            var random = new Random(seed);
            for (var pass = 0; pass < passes && !cancellation.IsCancellationRequested; pass++)
            {
                switch (random.Next(5))
                {
                    case 0: manager.ReclaimPass(16); break;
                    case 1: manager.MigrateRandomPages(8, random); break;
                    case 2: manager.KsmPass(); break;
                    case 3: manager.WritebackPass(); break;
                    default: manager.AgeAll(); break;
                }
            }
        }) { Name = "host-activities", IsBackground = true };

        Array.ForEach(writers, t => t.Start());
        activity.Start();
        activity.Join();
        Volatile.Write(ref _activitiesDone, 1);
        Array.ForEach(writers, t => t.Join());
        manager.StopKswapd();

        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "every read returned the last value written: " + string.Join("; ", failures.Take(5)));
            Assert.That(host.Read(HostCounter.SwapOuts), Is.GreaterThan(0), "reclaim ran against the writers");
            Assert.That(host.Read(HostCounter.Migrations), Is.GreaterThan(0), "migration ran against the writers");
            Assert.That(host.Read(HostCounter.KsmMerges), Is.GreaterThan(0), "KSM merged pages under the writers");
            Assert.That(host.Read(HostCounter.Writebacks), Is.GreaterThan(0), "writeback cleaned file pages under the writer");
        });
        TestContext.Out.WriteLine(string.Join(", ", host.Counters().Where(c => c.Value != 0).Select(c => $"{c.Key}={c.Value}")));

        anonA.Exit();
        anonB.Exit();
        fileUser.Exit();
        var cached = Enumerable.Range(0, PagesPerWriter).Count(i => file.CachedPage(i) is not null);
        Assert.Multiple(() =>
        {
            Assert.That(host.Memory.FreeFrames + cached, Is.EqualTo(host.Memory.TotalFrames - 1),
                "after exit only the page cache holds frames: nothing leaked (" + Census(host) + ")");
            Assert.That(host.Swap.UsedSlots, Is.Zero, "and no swap slot leaked");
        });
    }

    /// <summary>What the frames hold right now, for a failure message.</summary>
    private static string Census(HostSystem host)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 1; i < host.Memory.TotalFrames; i++)
        {
            var state = host.Memory.StateOf(new Pfn(i));
            var flags = FrameState.Flags(state);
            var key = (flags & FrameFlags.Free) != 0
                ? "free"
                : $"{flags & ~FrameFlags.Dirty & ~FrameFlags.Referenced} map={Math.Min(FrameState.MapCount(state), 2)} extraRefs={FrameState.RefCount(state) - FrameState.MapCount(state)}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}"));
    }

    /// <summary>A writer owns its pages: it writes random values (often repeated, so KSM finds twins) and re-reads them.</summary>
    private Thread Writer(AddressSpace mm, Hva start, int seed, ConcurrentQueue<string> failures, CancellationToken cancellation) =>
        new(() =>
        {
            var random = new Random(seed);
            var last = new ulong[PagesPerWriter];
            for (var step = 0; (step < 2 * PagesPerWriter || Volatile.Read(ref _activitiesDone) == 0) && !cancellation.IsCancellationRequested; step++)
            {
                var page = random.Next(PagesPerWriter);
                var hva = start.AddPages((ulong)page);
                if (random.Next(2) == 0)
                {
                    var status = mm.HostRead(hva, out var value);
                    if (status != HostStatus.Ok || value != last[page])
                    {
                        failures.Enqueue($"{mm.Name} page {page}: {status}, read 0x{value:x}, expected 0x{last[page]:x}");
                    }
                }
                else
                {
                    var value = (ulong)random.Next(8); // few distinct values: plenty of identical pages
                    if (mm.HostWrite(hva, value) is var status && status != HostStatus.Ok)
                    {
                        failures.Enqueue($"{mm.Name} page {page}: write failed with {status}; {Census(mm.Host)}");
                    }
                    else
                    {
                        last[page] = value;
                    }
                }
            }
        }) { Name = $"writer-{mm.Name}", IsBackground = true };
}
