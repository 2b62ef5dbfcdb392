using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.Mirrors.Hmm;
using Hypervisor.Mirrors.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests.Hmm;

/// <summary>
/// Ports of tools/testing/selftests/mm/hmm-tests.c cases that fit a mirror of a process, each asserting what the
/// original asserts (<c>ret</c>, <c>cpages</c>, <c>faults</c>, the values each side sees). One word per page stands
/// for the page's ints; <c>HMM_BUFFER_SIZE</c> (1 MiB) is 256 pages.
/// </summary>
[CancelAfter(30_000)]
public sealed class HmmPortTests
{
    private const ulong Pages = 256;
    private const int NTimes = 10;

    [Test]
    public void Anon_read()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "dmirror0");
        var ptr = mm.MapAnon(Pages);
        // Leave the first two pages zero: page 0 pte_none, page 1 the zero page (read below).
        mm.Fill(ptr.AddPages(2), Pages - 2, i => i + 2);
        Assert.That(mm.Mprotect(ptr, Pages * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok), "mprotect PROT_READ");
        Assert.That(mm.CpuRead(ptr.AddPages(1)), Is.Zero, "the CPU reads the zero page");
        var mirror = new ulong[Pages];

        var ret = dmirror.Read(ptr, Pages, mirror);

        Assert.Multiple(() =>
        {
            Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), "ret == 0");
            Assert.That(ret.CPages, Is.EqualTo(Pages), "cpages == npages");
            Assert.That(ret.Faults, Is.EqualTo(1), "faults == 1");
            Assert.That(mirror[..2], Is.All.Zero, "the device reads zeroes from pte_none and the zero page");
            Assert.That(mirror[2..], Is.EqualTo(Enumerable.Range(2, (int)Pages - 2).Select(i => (ulong)i)), "and the values elsewhere");
            Assert.That(dmirror.CheckCoherence(), Is.Zero, "every device entry matches the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Anon_write()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "dmirror0");
        var ptr = mm.MapAnon(Pages);
        var mirror = Enumerable.Range(0, (int)Pages).Select(i => (ulong)i).ToArray();

        var ret = dmirror.Write(ptr, Pages, mirror);

        Assert.Multiple(() =>
        {
            Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), "ret == 0");
            Assert.That(ret.CPages, Is.EqualTo(Pages), "cpages == npages");
            Assert.That(ret.Faults, Is.EqualTo(1), "faults == 1");
            Assert.That(Enumerable.Range(0, (int)Pages).Select(i => mm.CpuRead(ptr.AddPages((ulong)i))), Is.EqualTo(mirror),
                "the CPU sees what the device wrote");
            Assert.That(dmirror.CheckCoherence(), Is.Zero, "every device entry matches the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Anon_write_prot()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "dmirror0");
        var ptr = mm.MapAnon(Pages, Protection.Read);
        var mirror = new ulong[Pages];

        var zeroRead = dmirror.Read(ptr, 1, mirror);
        Assert.Multiple(() =>
        {
            Assert.That(zeroRead.Status, Is.EqualTo(HostStatus.Ok), "reading a zero page: ret == 0");
            Assert.That(zeroRead.CPages, Is.EqualTo(1UL), "cpages == 1");
            Assert.That(zeroRead.Faults, Is.EqualTo(1), "faults == 1");
        });

        for (var i = 0; i < mirror.Length; i++)
        {
            mirror[i] = (ulong)i;
        }

        var denied = dmirror.Write(ptr, Pages, mirror);
        Assert.Multiple(() =>
        {
            Assert.That(denied.Status, Is.EqualTo(HostStatus.AccessDenied), "ret == -EPERM");
            Assert.That(Enumerable.Range(0, (int)Pages).Select(i => mm.CpuRead(ptr.AddPages((ulong)i))), Is.All.Zero, "nothing was written");
        });

        Assert.That(mm.Mprotect(ptr, Pages * Hva.PageSize, Protection.ReadWrite), Is.EqualTo(HostStatus.Ok), "mprotect RW");
        var ret = dmirror.Write(ptr, Pages, mirror);

        Assert.Multiple(() =>
        {
            Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), "ret == 0");
            Assert.That(ret.CPages, Is.EqualTo(Pages), "cpages == npages");
            Assert.That(ret.Faults, Is.EqualTo(1), "faults == 1: the zero page is replaced");
            Assert.That(Enumerable.Range(0, (int)Pages).Select(i => mm.CpuRead(ptr.AddPages((ulong)i))), Is.EqualTo(mirror), "the CPU sees the device's writes");
            Assert.That(dmirror.CheckCoherence(), Is.Zero, "every device entry matches the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Anon_read_multiple()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "dmirror0");
        for (ulong c = 0; c < NTimes; c++)
        {
            var ptr = mm.MapAnon(Pages);
            mm.Fill(ptr, Pages, i => i + c);
            var mirror = new ulong[Pages];

            var ret = dmirror.Read(ptr, Pages, mirror);

            Assert.Multiple(() =>
            {
                Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), $"round {c}: ret == 0");
                Assert.That(ret.CPages, Is.EqualTo(Pages), $"round {c}: cpages == npages");
                Assert.That(ret.Faults, Is.EqualTo(1), $"round {c}: faults == 1");
                Assert.That(mirror, Is.EqualTo(Enumerable.Range(0, (int)Pages).Select(i => (ulong)i + c)), $"round {c}: the device reads i + c");
            });
            Assert.That(mm.Munmap(ptr, Pages * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "hmm_buffer_free");
        }

        Assert.Multiple(() =>
        {
            Assert.That(dmirror.MappedPages, Is.Zero, "every munmap emptied the device's table");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Anon_teardown()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "dmirror0");
        var completed = 0;
        for (ulong c = 0; c < NTimes; c++)
        {
            var ptr = mm.MapAnon(Pages);
            mm.Fill(ptr, Pages, i => i + c);
            var mirror = new ulong[Pages];
            // unmap_buffer: another thread unmaps the second half while the device reads.
            var unmapper = new Thread(() => mm.Munmap(ptr.AddPages(Pages / 2), Pages / 2 * Hva.PageSize)) { Name = "unmap_buffer" };
            unmapper.Start();

            var ret = dmirror.Read(ptr, Pages, mirror);
            if (ret.Status == HostStatus.Ok)
            {
                completed++;
                Assert.Multiple(() =>
                {
                    Assert.That(ret.CPages, Is.EqualTo(Pages), $"round {c}: cpages == npages");
                    Assert.That(ret.Faults, Is.EqualTo(1), $"round {c}: faults == 1");
                    Assert.That(mirror, Is.EqualTo(Enumerable.Range(0, (int)Pages).Select(i => (ulong)i + c)), $"round {c}: the device reads i + c");
                });
            }
            else
            {
                Assert.That(ret.Status, Is.EqualTo(HostStatus.NoVma), $"round {c}: a read that lost the race fails with -EFAULT");
            }

            Assert.That(unmapper.Join(TimeSpan.FromSeconds(10)), Is.True, "the unmapping thread finishes");
            mm.Munmap(ptr, Pages / 2 * Hva.PageSize);
            Assert.That(dmirror.CheckCoherence(), Is.Zero, $"round {c}: no device entry outlives the unmap");
        }

        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Total, Is.Zero, "the device never read a freed page");
            Assert.That(dmirror.MappedPages, Is.Zero, "nothing left mapped");
            TestContext.Out.WriteLine($"{completed} of {NTimes} reads completed before the unmap; {dmirror.Statistics}");
        });
    }

    [Test]
    public void Double_map()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dev0 = new DeviceMirror(mm, "dmirror0");
        using var dev1 = new DeviceMirror(mm, "dmirror1");
        const ulong npages = 6;
        var ptr = mm.MapAnon(npages);
        mm.Fill(ptr, npages, i => i);
        Assert.That(mm.Mprotect(ptr, npages * Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok), "mprotect PROT_READ");
        var expected = Enumerable.Range(0, (int)npages).Select(i => (ulong)i).ToArray();

        foreach (var dev in new[] { dev0, dev1 })
        {
            var mirror = new ulong[npages];
            var ret = dev.Read(ptr, npages, mirror);
            Assert.Multiple(() =>
            {
                Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), $"{dev.Name}: ret == 0");
                Assert.That(ret.CPages, Is.EqualTo(npages), $"{dev.Name}: cpages == npages");
                Assert.That(ret.Faults, Is.EqualTo(1), $"{dev.Name}: faults == 1 (read faults do not invalidate the other mirror)");
                Assert.That(mirror, Is.EqualTo(expected), $"{dev.Name}: reads the values");
            });
        }

        // Instead of a migration to dev1's private memory (not modelled), the CPU makes the pages writable again: one
        // event, both mirrors invalidated with the same sequence.
        var before = (dev0.Statistics.Invalidations, dev1.Statistics.Invalidations);
        Assert.That(mm.Mprotect(ptr, npages * Hva.PageSize, Protection.ReadWrite), Is.EqualTo(HostStatus.Ok), "mprotect RW");
        var afterBoth = (dev0.Statistics.Invalidations - before.Item1, dev1.Statistics.Invalidations - before.Item2);
        var again = new ulong[npages];
        var reread = dev0.Read(ptr, npages, again);

        Assert.Multiple(() =>
        {
            Assert.That(afterBoth, Is.EqualTo((1L, 1L)), "one event hit both mirrors");
            Assert.That(dev0.MappedPages, Is.EqualTo((int)npages), "dev0 faulted the range back");
            Assert.That(dev1.MappedPages, Is.Zero, "dev1 stays empty until it faults");
            Assert.That(reread.Faults, Is.EqualTo(1), "dev0 re-reads with one fault");
            Assert.That(again, Is.EqualTo(expected), "and correct data");
            Assert.That(dev0.CheckCoherence() + dev1.CheckCoherence(), Is.Zero, "both mirrors match the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
