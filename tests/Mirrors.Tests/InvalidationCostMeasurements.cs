using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.Mirrors.Gru;
using Hypervisor.Mirrors.Hmm;
using Hypervisor.Mirrors.Tests.Support;
using Hypervisor.Mirrors.Xpmem;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests;

/// <summary>
/// Figures, not checks: the cost of one host invalidation (<c>madvise(DONTNEED)</c> of 64 mapped pages, then the
/// refault) with one client of each kind mirroring the range, and the slowdown of a one-page madvise as an XPMEM
/// remote importer's latency grows. Run with
/// <c>dotnet test tests/Mirrors.Tests -c Release --filter Name~InvalidationCost</c>; medians of alternating rounds.
/// </summary>
[Explicit("measurement; prints figures")]
[Category("Measurement")]
public sealed class InvalidationCostMeasurements
{
    private const ulong Pages = 64;
    private const int Rounds = 201;

    [Test]
    public void InvalidationCost_per_client_kind()
    {
        var kinds = new (string Name, Func<AddressSpace, Hva, Action> Attach)[]
        {
            ("none", (_, _) => () => { }),
            ("hmm-mirror", (mm, at) => { var d = new DeviceMirror(mm, "gpu"); var buf = new ulong[Pages]; return () => d.Read(at, Pages, buf); }),
            ("gru-tlb", (mm, at) => { var g = new GruDeviceTlb(mm, "gru"); return () => { for (ulong i = 0; i < Pages; i++) { g.Access(at.AddPages(i), false, 0, out _); } }; }),
            ("xpmem-local", (mm, at) => { var a = new XpmemSegment(mm, at, Pages, "seg").Attach("imp"); return () => { for (ulong i = 0; i < Pages; i++) { a.Read(i, out _); } }; }),
        };
        var setups = kinds.Select(k =>
        {
            var (_, mm) = Hosts.WithSpace();
            var at = mm.MapAnon(Pages);
            return (k.Name, Mm: mm, At: at, Refill: k.Attach(mm, at), Samples: new List<double>());
        }).ToList();

        for (var r = 0; r < Rounds; r++)
        {
            foreach (var s in setups) // alternate kinds within a round so drift hits all alike
            {
                s.Mm.Fill(s.At, Pages, i => i);
                s.Refill();
                var t0 = Stopwatch.GetTimestamp();
                s.Mm.MadviseDontNeed(s.At, Pages * Hva.PageSize);
                s.Samples.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }
        }

        foreach (var s in setups)
        {
            TestContext.Out.WriteLine($"{s.Name,-12} madvise(DONTNEED) of {Pages} mirrored pages: median {Median(s.Samples):F1} µs");
        }

        Assert.That(setups.All(s => s.Samples.Count == Rounds), Is.True, "every round measured");
    }

    [Test]
    public void InvalidationCost_as_xpmem_remote_latency_grows()
    {
        foreach (var micros in new[] { 0, 10, 100 })
        {
            var (_, mm) = Hosts.WithSpace();
            var at = mm.MapAnon(1);
            using var remote = new RemotePartition("node1", TimeSpan.FromMicroseconds(micros));
            var att = new XpmemSegment(mm, at, 1, "seg").Attach("remote", remote);
            var withRemote = new List<double>();
            var (_, plainMm) = Hosts.WithSpace();
            var plainAt = plainMm.MapAnon(1);
            var plain = new List<double>();
            for (var r = 0; r < Rounds; r++)
            {
                mm.Fill(at, 1, _ => 1);
                att.Read(0, out _);
                var t0 = Stopwatch.GetTimestamp();
                mm.MadviseDontNeed(at, Hva.PageSize);
                withRemote.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);

                plainMm.Fill(plainAt, 1, _ => 1);
                t0 = Stopwatch.GetTimestamp();
                plainMm.MadviseDontNeed(plainAt, Hva.PageSize);
                plain.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }

            TestContext.Out.WriteLine($"remote latency {micros,3} µs: one-page madvise median {Median(withRemote):F1} µs " +
                $"(no client {Median(plain):F1} µs, slowdown {Median(withRemote) / Median(plain):F0}x)");
        }

        Assert.Pass("figures printed");
    }

    private static double Median(List<double> samples)
    {
        var sorted = samples.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
