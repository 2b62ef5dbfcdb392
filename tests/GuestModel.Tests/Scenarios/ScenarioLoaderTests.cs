using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

public class ScenarioLoaderTests
{
    private const string FullExample = """
        name: full
        description: Every field set
        seed: 42
        duration: 12s
        accessBudget: 200000000
        statsInterval: 500ms
        restart: on-failure
        host:
          ram: 2GiB
          swap: 1GiB
          notifierProfile: legacy2008
        guests:
          - name: web
            memory: 512MiB
            vcpus: 2
            backing: anonymous-shared
            memslots:
              - base: 256MiB
                size: 256MiB
              - base: 0
                size: 128MiB
                readOnly: true
                backing: file-shared
            workload:
              pattern: phased
              phases:
                - { pattern: sequential, accesses: 1000000, writeRatio: 1.0, workingSetOffset: 4MiB, workingSet: 8MiB }
                - { pattern: zipf, accesses: 5000000, zipfExponent: 1.3, duplicateRatio: 0.25 }
            vcpuWorkloads:
              - vcpu: 1
                workload: { pattern: stride, stride: 64KiB, writeRatio: 0.0 }
        activities:
          - kind: fork
            guest: web
            at: 2s
            every: 3s
            count: 2
            childLifetime: 1500ms
            childWrites: 7
          - kind: munmap-remap
            guest: web
            offset: 16MiB
            size: 4MiB
            gap: 10ms
          - kind: exit
            guest: web
            at: 11s
        """;

    [Test]
    public void A_scenario_with_every_field_set_loads_each_value()
    {
        var scenario = ScenarioText.LoadValid(FullExample);
        var web = scenario.Guests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Name, Is.EqualTo("full"), "name");
            Assert.That(scenario.Description, Is.EqualTo("Every field set"), "description");
            Assert.That(scenario.Seed, Is.EqualTo(42UL), "seed");
            Assert.That(scenario.Duration, Is.EqualTo(TimeSpan.FromSeconds(12)), "duration");
            Assert.That(scenario.AccessBudget, Is.EqualTo(200_000_000L), "accessBudget");
            Assert.That(scenario.StatsInterval, Is.EqualTo(TimeSpan.FromMilliseconds(500)), "statsInterval");
            Assert.That(scenario.Restart, Is.EqualTo(RestartPolicy.OnFailure), "restart: on-failure in kebab case");
            Assert.That(scenario.Host.Ram, Is.EqualTo(2L << 30), "host.ram");
            Assert.That(scenario.Host.Swap, Is.EqualTo(1L << 30), "host.swap");
            Assert.That(scenario.Host.NotifierProfile, Is.EqualTo(NotifierProfile.Legacy2008), "host.notifierProfile");
            Assert.That(scenario.Source, Is.EqualTo("test.yaml"), "the display name is kept for messages");

            Assert.That(web.Name, Is.EqualTo("web"), "guest name");
            Assert.That(web.Memory, Is.EqualTo(512L << 20), "guest memory");
            Assert.That(web.Vcpus, Is.EqualTo(2), "vcpus");
            Assert.That(web.Backing, Is.EqualTo(VmaKind.AnonymousShared), "guest backing");
            Assert.That(web.Memslots.Select(s => s.Base), Is.EqualTo(new List<long> { 0L, 256L << 20 }), "memslots come sorted by base");
            Assert.That(web.Memslots[0].ReadOnly, Is.True, "readOnly");
            Assert.That(web.Memslots[0].Backing, Is.EqualTo(VmaKind.FileShared), "a slot's backing overrides the guest's");
            Assert.That(web.Memslots[1].Backing, Is.EqualTo(VmaKind.AnonymousShared), "a slot inherits the guest's backing");
            Assert.That(web.Memslots[0].Size, Is.EqualTo(128L << 20), "slot size");
        });
    }

    [Test]
    public void Workloads_phases_and_vcpu_overrides_load_with_their_values()
    {
        var web = ScenarioText.LoadValid(FullExample).Guests.Single();
        var phases = web.Workload.Phases;
        var stride = web.WorkloadFor(1);
        Assert.Multiple(() =>
        {
            Assert.That(web.Workload.Pattern, Is.EqualTo(AccessPattern.Phased), "pattern");
            Assert.That(phases.Select(p => p.Accesses), Is.EqualTo(new List<long> { 1_000_000L, 5_000_000L }), "phase lengths");
            Assert.That(phases[0].Workload.Pattern, Is.EqualTo(AccessPattern.Sequential), "phase 0 pattern");
            Assert.That(phases[0].Workload.WriteRatio, Is.EqualTo(1.0), "phase 0 writeRatio");
            Assert.That(phases[0].Workload.WorkingSetOffset, Is.EqualTo(4L << 20), "phase 0 workingSetOffset");
            Assert.That(phases[0].Workload.WorkingSet, Is.EqualTo(8L << 20), "phase 0 workingSet");
            Assert.That(phases[1].Workload.ZipfExponent, Is.EqualTo(1.3), "phase 1 zipfExponent");
            Assert.That(phases[1].Workload.DuplicateRatio, Is.EqualTo(0.25), "phase 1 duplicateRatio");
            Assert.That(phases[1].Workload.WorkingSet, Is.EqualTo(512L << 20), "an omitted working set is all guest memory");
            Assert.That(stride.Pattern, Is.EqualTo(AccessPattern.Stride), "vCPU 1 runs its override");
            Assert.That(stride.Stride, Is.EqualTo(64L << 10), "stride");
            Assert.That(stride.WriteRatio, Is.Zero, "the override's writeRatio");
            Assert.That(web.WorkloadFor(0), Is.SameAs(web.Workload), "vCPU 0 has no override and runs the guest's workload");
        });
    }

    [Test]
    public void Activities_load_common_fields_and_kind_parameters()
    {
        var activities = ScenarioText.LoadValid(FullExample).Activities;
        Assert.That(activities, Has.Count.EqualTo(3), "three activities");
        Assert.Multiple(() =>
        {
            Assert.That(activities[0].Kind, Is.EqualTo("fork"), "kind");
            Assert.That(activities[0].Guest, Is.EqualTo("web"), "guest");
            Assert.That(activities[0].At, Is.EqualTo(TimeSpan.FromSeconds(2)), "at");
            Assert.That(activities[0].Every, Is.EqualTo(TimeSpan.FromSeconds(3)), "every");
            Assert.That(activities[0].Count, Is.EqualTo(2), "count");
            Assert.That(activities[0].Parameters, Is.EqualTo(new ForkParameters(TimeSpan.FromMilliseconds(1500), 7)), "fork parameters");
            Assert.That(activities[0].Line, Is.EqualTo(33), "the activity remembers its line for messages");
            Assert.That(activities[1].Parameters,
                Is.EqualTo(new MunmapRemapParameters(new GuestRange(16L << 20, 4L << 20), TimeSpan.FromMilliseconds(10))),
                "munmap-remap parameters");
            Assert.That(activities[1].Count, Is.EqualTo(1), "without every an activity fires once");
            Assert.That(activities[2].Parameters, Is.TypeOf<ExitParameters>(), "exit has no parameters");
        });
    }

    [Test]
    public void Omitted_fields_take_their_documented_defaults()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead);
        var guest = scenario.Guests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Seed, Is.EqualTo(1UL), "seed defaults to 1");
            Assert.That(scenario.Duration, Is.EqualTo(TimeSpan.FromSeconds(10)), "duration defaults to 10s without a budget");
            Assert.That(scenario.AccessBudget, Is.Null, "no budget by default");
            Assert.That(scenario.StatsInterval, Is.EqualTo(TimeSpan.FromSeconds(1)), "statsInterval defaults to 1s");
            Assert.That(scenario.Restart, Is.EqualTo(RestartPolicy.Never), "restart defaults to never");
            Assert.That(scenario.Host.Swap, Is.Zero, "no swap by default");
            Assert.That(scenario.Host.NotifierProfile, Is.EqualTo(NotifierProfile.Modern), "modern notifiers by default");
            Assert.That(scenario.Activities, Is.Empty, "no activities by default");
            Assert.That(guest.Backing, Is.EqualTo(VmaKind.AnonymousPrivate), "anonymous private memory by default");
            Assert.That(guest.Memslots, Is.EqualTo(new[] { new MemslotSpec { Base = 0, Size = 64L << 20 } }),
                "one read-write slot over all memory by default");
            Assert.That(guest.Workload, Is.EqualTo(new WorkloadSpec { WorkingSet = 64L << 20 }),
                "the default workload is uniform, 30% writes, over all memory");
            Assert.That(guest.VcpuWorkloads, Is.Empty, "no overrides by default");
        });
    }

    [Test]
    public void An_access_budget_without_a_duration_leaves_the_run_unbounded_in_time()
    {
        var scenario = ScenarioText.LoadValid("accessBudget: 1000\n" + ScenarioText.MinimalHead);
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Duration, Is.Null, "the budget alone ends the run");
            Assert.That(scenario.AccessBudget, Is.EqualTo(1000), "budget");
        });
    }

    [Test]
    public void Range_parameters_default_to_16MiB_shortened_to_the_end_of_guest_memory()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead + """

            activities:
              - { kind: madvise-dontneed, guest: g }
              - { kind: mprotect, guest: g, offset: 60MiB }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Activities[0].Parameters, Is.EqualTo(new MadviseDontneedParameters(new GuestRange(0, 16L << 20))),
                "offset 0 and size 16MiB by default");
            Assert.That(scenario.Activities[1].Parameters,
                Is.EqualTo(new MprotectParameters(new GuestRange(60L << 20, 4L << 20), TimeSpan.FromMilliseconds(500))),
                "the default size stops at the end of the 64MiB guest; readOnlyFor defaults to 500ms");
        });
    }

    [Test]
    public void Firing_times_follow_at_every_and_count()
    {
        var periodic = new ActivitySpec { Kind = "fork", At = TimeSpan.FromSeconds(1), Every = TimeSpan.FromSeconds(2), Count = 3, Parameters = new ExitParameters() };
        var unbounded = periodic with { Count = null };
        var once = periodic with { Every = null, Count = 1 };
        Assert.Multiple(() =>
        {
            Assert.That(periodic.TryGetFiringTime(2, out var third) ? third : TimeSpan.MinValue, Is.EqualTo(TimeSpan.FromSeconds(5)),
                "the third firing is at + 2 * every");
            Assert.That(periodic.TryGetFiringTime(3, out _), Is.False, "count 3 means no fourth firing");
            Assert.That(unbounded.TryGetFiringTime(1_000_000, out _), Is.True, "without count a periodic activity never stops");
            Assert.That(once.TryGetFiringTime(0, out var first) ? first : TimeSpan.MinValue, Is.EqualTo(TimeSpan.FromSeconds(1)), "a one-shot fires at at");
            Assert.That(once.TryGetFiringTime(1, out _), Is.False, "a one-shot fires once");
        });
    }

    [Test]
    public void Yaml_anchors_and_aliases_share_a_definition_between_guests()
    {
        var scenario = ScenarioText.LoadValid("""
            name: t
            host: { ram: 1GiB }
            guests:
              - name: a
                memory: 64MiB
                vcpus: 1
                workload: &hot { pattern: zipf, zipfExponent: 1.2, workingSet: 8MiB }
              - name: b
                memory: 64MiB
                vcpus: 1
                workload: *hot
            """);
        Assert.That(scenario.Guests[1].Workload, Is.EqualTo(scenario.Guests[0].Workload), "the alias stands for the anchored mapping");
    }

    [Test]
    public void Every_error_of_a_file_is_reported_at_once_in_file_order()
    {
        var errors = ScenarioText.LoadErrors("""
            name: t
            host:
              ram: 1GiB
            guests:
              - name: g
                memory: 64MiB
                vcpus: 0
                workload:
                  writeRatio: 2
            """);
        Assert.That(errors.Select(e => e.Path), Is.EqualTo(new List<string> { "guests[0].vcpus", "guests[0].workload.writeRatio" }),
            "both problems are reported, first one first");
    }

    [Test]
    public void An_error_prints_on_one_line_as_file_line_column_path_message()
    {
        var error = new ScenarioError("config/scenarios/x.yaml", 12, 5, "guests[0].vcpus", "expected an integer >= 1, got 0");
        Assert.Multiple(() =>
        {
            Assert.That(error.ToString(), Is.EqualTo("config/scenarios/x.yaml:12:5: guests[0].vcpus: expected an integer >= 1, got 0"),
                "the compiler-style format editors can jump to");
            Assert.That(new ScenarioError("a.yaml", 0, 0, "", "file not found").ToString(), Is.EqualTo("a.yaml: file not found"),
                "a file-level error has no position and no path");
        });
    }

    [Test]
    public void A_missing_file_is_an_error_naming_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "nope.yaml");
        var result = ScenarioLoader.Default.LoadFile(path);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { path + ": file not found" }), "one error with the path");
    }

    [Test]
    public void An_unreadable_path_is_an_error_not_an_exception()
    {
        var result = ScenarioLoader.Default.LoadFile(RepoPaths.ScenarioDirectory);
        Assert.Multiple(() =>
        {
            Assert.That(result.Succeeded, Is.False, "a directory is not a scenario");
            Assert.That(result.Errors.Single().ToString(), Does.StartWith(RepoPaths.ScenarioDirectory + ": "), "the error names the path");
        });
    }

    [Test]
    public void Scenarios_are_immutable_records_overridden_with_with()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead);
        var legacy = scenario with { Seed = 9, Host = scenario.Host with { NotifierProfile = NotifierProfile.Legacy2008 } };
        Assert.Multiple(() =>
        {
            Assert.That(legacy.Host.NotifierProfile, Is.EqualTo(NotifierProfile.Legacy2008), "the override applies to the copy");
            Assert.That(scenario.Host.NotifierProfile, Is.EqualTo(NotifierProfile.Modern), "the original is untouched");
            Assert.That(legacy.Guests, Is.SameAs(scenario.Guests), "the rest is shared");
        });
    }
}
