using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Two KVM VMs in one VMM process (<c>addressSpaceOf</c>): each with its own vCPUs, memslots and notifier on the shared
/// address space, both coherent and both checked by their oracles; a broken variant is caught there too.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SharedVmmTests
{
    private static Scenario Load() =>
        ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "shared-vmm.yaml")).Scenario!;

    private static RunSummary Run(string? mutation, ulong? seed, CancellationToken token) =>
        new ScenarioRunner().Run(Load(), new RunOptions { Mutation = mutation, Duration = TimeSpan.FromSeconds(2), Seed = seed }, token);

    [Test]
    [CancelAfter(60_000)]
    public void Two_vms_in_one_vmm_process_run_clean_and_both_are_invalidated(CancellationToken token)
    {
        var scenario = Load();
        Assert.That(scenario.Guests[1].AddressSpaceOf, Is.EqualTo("left"), "the scenario puts right's VM in left's process");
        var summary = Run(null, null, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind} in {f.Guest}: {f.Detail}")));
            Assert.That(summary.Guests.Select(g => g.Faults), Has.All.GreaterThan(0), "both VMs faulted through the shared space");
            Assert.That(summary.Guests.Select(g => g.SptesZapped), Has.All.GreaterThan(0), "both VMs' notifiers zapped their own SPTEs");
            Assert.That(summary.Clients.Single().Invalidations, Is.GreaterThan(0), "the mirror on the same space was invalidated");
            Assert.That(summary.Host.GetValueOrDefault("exits"), Is.LessThanOrEqualTo(summary.Host.GetValueOrDefault("forks") + 1),
                "one VMM process exits at the end (plus the fork children), not one per guest");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void A_fault_that_ignores_the_sequence_is_caught_in_a_shared_vmm(CancellationToken token)
    {
        // Race B with two VMs on one space: every invalidation reaches both notifiers, and each VM's fault must still
        // notice one that hit its own memslots between its sequence sample and its install.
        var summary = Run("no-seq-check", null, token);
        for (var attempt = 1; attempt < 3 && summary.Violations.Total == 0; attempt++)
        {
            summary = Run("no-seq-check", summary.Seed + 1, token);
        }

        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.GreaterThan(0), "no-seq-check must be caught with two VMs on one space");
            Assert.That(summary.ExitCode, Is.EqualTo(1), "exit code 1");
        });
    }

    [Test]
    public void The_vm_in_another_guests_process_and_the_vmm_guest_both_run_their_own_vcpus()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead + """

              - name: h
                memory: 16MiB
                vcpus: 1
                addressSpaceOf: g
            """);
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Guests[0].AddressSpaceOf, Is.Null, "g has a process of its own");
            Assert.That(scenario.Guests[1].AddressSpaceOf, Is.EqualTo("g"), "h lives in g's");
        });
    }

    [TestCase("nobody", "expected the name of a guest declared before this one (g), got \"nobody\"")]
    [TestCase("h", "expected the name of a guest declared before this one (g), got \"h\"")]
    [TestCase("Bad Name", "expected a name of lower-case letters")]
    public void AddressSpaceOf_must_name_an_earlier_guest(string owner, string message)
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead + $"""

              - name: h
                memory: 16MiB
                vcpus: 1
                addressSpaceOf: {owner}
            """);
        Assert.That(errors.Select(e => e.ToString()), Has.Some.Contains("addressSpaceOf").And.Contains(message), "the error names the field");
    }

    [Test]
    public void AddressSpaceOf_cannot_chain_through_a_guest_that_shares_one_itself()
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead + """

              - name: h
                memory: 16MiB
                vcpus: 1
                addressSpaceOf: g
              - name: i
                memory: 16MiB
                vcpus: 1
                addressSpaceOf: h
            """);
        Assert.That(errors.Select(e => e.ToString()), Has.Some.Contains("guests[2].addressSpaceOf").And.Contains("lives in \"g\"'s"),
            "a chain is refused with the guest it leads to");
    }
}
