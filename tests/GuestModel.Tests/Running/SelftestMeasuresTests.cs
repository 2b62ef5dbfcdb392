using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// What KVM's selftests measure, in the summary: per-vCPU quotas that end the run, the per-vCPU block, guest execution
/// time apart from set-up and teardown, a digest of final guest memory, per-activity results, and a plain munmap.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SelftestMeasuresTests
{
    private static Scenario Load(string file)
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(loaded.Errors, Is.Empty, $"{file} loads");
        return loaded.Scenario!;
    }

    private static Scenario Text(string yaml) => ScenarioText.LoadValid(yaml);

    private static string Describe(RunSummary s) => string.Join("; ", s.Violations.First.Select(f => $"{f.Kind}: {f.Detail}"));

    [Test]
    [CancelAfter(120_000)]
    public void Demand_paging_touches_every_page_of_each_partition_once_and_ends_when_the_vcpus_are_done(CancellationToken token)
    {
        var scenario = Load("demand-paging.yaml");
        var summary = new ScenarioRunner().Run(scenario, new RunOptions(), token);
        var guest = summary.Guests.Single();
        var quota = scenario.AccessesPerVcpu!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero, Describe(summary));
            Assert.That(guest.PerVcpu.Select(v => v.Accesses), Is.All.EqualTo(quota), "each vCPU made exactly its quota");
            Assert.That(guest.PerVcpu.Select(v => v.Faults), Is.All.EqualTo(quota), "every access was a first touch (a fault), none touched twice");
            Assert.That(summary.Host["fileFaults"], Is.EqualTo(2 * quota), "the host faulted every page of both partitions in, once");
            Assert.That(guest.PerVcpu.Select(v => v.AccessesPerSecond), Is.All.GreaterThan(0), "pages per second per vCPU");
            Assert.That(guest.PerVcpu.Select(v => v.LastAccessSeconds - v.FirstAccessSeconds), Is.All.GreaterThan(0), "each vCPU ran a while");
            Assert.That(summary.ExecutionSeconds, Is.EqualTo(guest.PerVcpu.Max(v => v.LastAccessSeconds)), "execution ends with the last vCPU");
            Assert.That(summary.ExecutionSeconds, Is.LessThanOrEqualTo(summary.DurationSeconds), "set-up and teardown are left out");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public void A_per_vcpu_quota_ends_the_run_long_before_its_duration(CancellationToken token)
    {
        var scenario = Text("name: t\nduration: 10m\naccessesPerVcpu: 30000\nhost:\n  ram: 256MiB\nguests:\n" +
            "  - { name: g, memory: 16MiB, vcpus: 3, workload: { pattern: uniform, writeRatio: 0.5 } }\n");
        var summary = new ScenarioRunner().Run(scenario, new RunOptions(), token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Guests[0].PerVcpu.Select(v => v.Accesses), Is.EqualTo(new long[] { 30000, 30000, 30000 }), "three quotas made");
            Assert.That(summary.DurationSeconds, Is.LessThan(60), "the quotas, not the 10 minutes, ended the run");
        });
    }

    [Test]
    [CancelAfter(300_000)]
    public void The_memory_digest_repeats_for_a_seed_and_changes_with_it(CancellationToken token)
    {
        var scenario = Text("name: t\naccessesPerVcpu: 4000\nhost:\n  ram: 256MiB\nguests:\n" +
            "  - { name: g, memory: 4MiB, vcpus: 2, workload: { pattern: uniform, writeRatio: 0.6 } }\n" +
            "activities:\n  - { kind: madvise-dontneed, guest: g, every: 1ms, offset: 0, size: 1MiB }\n");
        string Digest(ulong seed) => new ScenarioRunner().Run(scenario, new RunOptions
        {
            Seed = seed, Schedule = new ScheduleSettings(),
        }, token).Guests[0].MemoryDigest!;

        var first = Digest(11);
        Assert.Multiple(() =>
        {
            Assert.That(first, Does.Match("^[0-9a-f]{16}$"), "64-bit hex");
            Assert.That(Digest(11), Is.EqualTo(first), "a deterministic run with the same seed leaves the same memory");
            Assert.That(Digest(12), Is.Not.EqualTo(first), "another seed writes other values");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public void A_plain_munmap_leaves_the_range_faulting_to_the_vmm_and_is_counted_per_activity(CancellationToken token)
    {
        var scenario = Text("name: t\nduration: 1s\nhost:\n  ram: 256MiB\nguests:\n" +
            "  - { name: g, memory: 8MiB, vcpus: 2, workload: { pattern: sequential, writeRatio: 0.3 } }\n" +
            "activities:\n  - { kind: munmap, guest: g, at: 100ms, offset: 4MiB, size: 4MiB }\n");
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { CheckAfterOps = true }, token);
        var activity = summary.Activities.Single();
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero, Describe(summary));
            Assert.That(summary.Totals.HostFaultExits, Is.GreaterThan(0), "accesses to the unmapped half exit to the VMM");
            Assert.That(summary.Guests[0].AfterOperationChecks, Is.EqualTo(1), "the munmap was checked once it returned");
            Assert.That((activity.Kind, activity.Firings, activity.Pages), Is.EqualTo(("munmap", 1L, 1024L)), "one firing over 1024 pages");
            Assert.That(activity.LastOutcome, Is.EqualTo("Ok"), "it succeeded");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public void A_translation_a_munmap_leaves_behind_is_caught(CancellationToken token)
    {
        var scenario = Text("name: t\nduration: 1s\nhost:\n  ram: 256MiB\nguests:\n" +
            "  - { name: g, memory: 8MiB, vcpus: 2, workload: { pattern: uniform, writeRatio: 0.3 } }\n" +
            "activities:\n  - { kind: munmap, guest: g, at: 300ms, offset: 0, size: 4MiB }\n");
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { CheckAfterOps = true, Mutation = "no-zap" }, token);
        Assert.That(summary.Violations.ByKind.GetValueOrDefault("mapped-after-operation"), Is.GreaterThan(0),
            "no-zap keeps the SPTEs of the unmapped range: " + Describe(summary));
    }

    [Test]
    [CancelAfter(120_000)]
    public void TlbEntries_sizes_each_vcpu_tlb(CancellationToken token)
    {
        long Hits(int entries) => new ScenarioRunner().Run(Text($"name: t\naccessesPerVcpu: 50000\nhost:\n  ram: 256MiB\nguests:\n" +
            $"  - {{ name: g, memory: 256KiB, vcpus: 1, tlbEntries: {entries}, workload: {{ pattern: sequential, writeRatio: 0.0 }} }}\n"),
            new RunOptions(), token).Totals.TlbHits;

        var small = Hits(1);
        var large = Hits(64);
        Assert.Multiple(() =>
        {
            Assert.That(large, Is.GreaterThan(49_000), "64 entries hold the 64 pages: all but the first pass hit");
            Assert.That(small, Is.LessThan(1_000), "one entry never holds the next page of a sequential pass");
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public void A_jittered_sub_millisecond_activity_fires_no_sooner_than_its_schedule(CancellationToken token)
    {
        var scenario = Text("name: t\nduration: 30ms\nhost:\n  ram: 256MiB\nguests:\n" +
            "  - { name: g, memory: 4MiB, vcpus: 1, workload: { pattern: uniform, writeRatio: 0.3 } }\n" +
            "activities:\n  - { kind: madvise-dontneed, guest: g, at: 0-400us, every: 600us, count: 100, offset: 0, size: 64KiB }\n");
        var summary = new ScenarioRunner().Run(scenario, new RunOptions(), token);
        var activity = summary.Activities.Single();
        Assert.Multiple(() =>
        {
            // Firing i is due at i x 600 us plus a jitter of up to 400 us: within 30 ms at most 51 are due (a loaded
            // machine may start the activity late and fire fewer, even none).
            Assert.That(activity.Firings, Is.LessThanOrEqualTo(51), "no firing came before its time");
            Assert.That(summary.Violations.Total, Is.Zero, Describe(summary));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void A_sub_millisecond_sleep_lasts_at_least_its_time(CancellationToken token)
    {
        using var control = new RunControl(null);
        control.Open();
        var shortest = TimeSpan.MaxValue;
        for (var i = 0; i < 20 && !token.IsCancellationRequested; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Assert.That(control.Sleep(TimeSpan.FromMicroseconds(600)), Is.True, "the run goes on");
            var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            shortest = took < shortest ? took : shortest;
        }

        // A lower bound only: a wait's timeout counts whole milliseconds, and 600 us rounded down is no wait at all.
        Assert.That(shortest, Is.GreaterThanOrEqualTo(TimeSpan.FromMicroseconds(600)), "each 600 us sleep lasted 600 us or more");
    }
}
