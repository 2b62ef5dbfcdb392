using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.Mirrors.Common;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests.Concurrency;

/// <summary>
/// Every kind of client on one address space at once, racing the host: clean when correct, and each client's
/// broken variant caught within seconds.
/// </summary>
[CancelAfter(60_000)]
public sealed class MultiClientRaceTests
{
    private static readonly TimeSpan Clean = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    [Test]
    public void Two_hmm_mirrors_a_gru_and_two_xpmem_importers_on_one_address_space_stay_coherent()
    {
        using var race = new MultiClientRace(MirrorMutations.None, seed: 1, TimeSpan.FromMicroseconds(5));

        race.Run(Clean);

        foreach (var v in race.Host.Violations.FirstOccurrences())
        {
            TestContext.Out.WriteLine(v.ToString());
        }

        TestContext.Out.WriteLine($"{race.HostOps} host ops, {race.ClientOps} client ops, {race.Checks} checks");
        foreach (var s in race.Statistics)
        {
            TestContext.Out.WriteLine(s.ToString());
        }

        Assert.Multiple(() =>
        {
            Assert.That(race.Host.Violations.Total, Is.Zero,
                $"no client used a freed or stale frame: {string.Join(", ", race.Host.Violations.ByKind().Select(kv => $"{kv.Key}={kv.Value}"))}");
            Assert.That(race.HostOps, Is.GreaterThan(100), "the host changed the range many times");
            Assert.That(race.Checks, Is.GreaterThan(10), "the checker ran");
            Assert.That(race.Statistics.Select(s => s.Invalidations), Has.All.GreaterThan(0), "every client was invalidated");
            Assert.That(race.Statistics.Select(s => s.Faults), Has.All.GreaterThan(0), "and faulted back in");
        });
    }

    [TestCase(MirrorMutations.HmmNoSetSeq, "mirror-stale-mapping")]
    [TestCase(MirrorMutations.GruNoPurge, "use-after-free")]
    [TestCase(MirrorMutations.XpmemNoAckWait, "use-after-free")]
    [TestCase(MirrorMutations.XpmemNoSeqCheck, "mirror-stale-mapping")]
    public void Each_client_mutation_is_caught_within_seconds(MirrorMutations mutation, string expectedKind)
    {
        // A miss on one seed is retried on another (races are probabilistic); every attempt has the full budget.
        for (var seed = 1; seed <= 3; seed++)
        {
            using var race = new MultiClientRace(mutation, seed, TimeSpan.FromMicroseconds(200));
            var took = race.Run(Budget);
            if (race.Host.Violations.Total > 0)
            {
                var kinds = race.Host.Violations.ByKind();
                TestContext.Out.WriteLine($"{mutation}: caught in {took.TotalSeconds:F2} s (seed {seed}): {string.Join(", ", kinds.Select(kv => $"{kv.Key}={kv.Value}"))}");
                Assert.That(kinds.Keys, Has.Member(expectedKind).Or.Member(ViolationKind.UseAfterFree.Name).Or.Member("mirror-stale-mapping"),
                    "caught as a freed or stale frame used by a client");
                return;
            }
        }

        Assert.Fail($"{mutation} was not caught on three seeds of {Budget.TotalSeconds} s each");
    }
}
