using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>The activity registry is open: a new kind plugs in with its own parameters and the loader core is untouched.</summary>
public class ActivityKindRegistryTests
{
    [Test]
    public void A_registered_kind_is_parsed_with_its_own_parameters()
    {
        var loader = new ScenarioLoader(RegistryWithBalloon());
        var result = loader.LoadText(ScenarioText.MinimalHead + """

            activities:
              - kind: balloon
                every: 1s
                target: 32MiB
            """, "test.yaml");
        Assert.That(result.Errors, Is.Empty, result.ToString());
        var activity = result.Scenario!.Activities.Single();
        Assert.Multiple(() =>
        {
            Assert.That(activity.Parameters, Is.EqualTo(new BalloonParameters(32L << 20)), "the kind's parameters come through");
            Assert.That(activity.Guest, Is.Null, "a kind that needs no guest may omit it");
            Assert.That(activity.Count, Is.Null, "with every and no count it fires until the end");
        });
    }

    [Test]
    public void A_registered_kind_gets_unknown_keys_and_bad_values_reported()
    {
        var result = new ScenarioLoader(RegistryWithBalloon()).LoadText(ScenarioText.MinimalHead + """

            activities:
              - kind: balloon
                target: 0
                targte: 1MiB
            """, "test.yaml");
        Assert.That(result.Errors.Select(e => $"{e.Path}: {e.Message}"), Is.EqualTo(new List<string>
        {
            "activities[0].target: expected a size > 0, got 0",
            "activities[0].targte: unknown field; did you mean \"target\"? (allowed: kind, guest, at, every, count, target)",
        }), "the reader checks the kind's values and refuses keys the kind did not ask for");
    }

    [Test]
    public void The_default_loader_does_not_know_kinds_registered_elsewhere()
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead + "\nactivities:\n  - { kind: balloon }\n");
        Assert.That(errors.Single().Message, Does.StartWith("unknown activity kind \"balloon\" (known: fork,"), "registries are separate");
    }

    [Test]
    public void Parameter_names_come_from_a_dry_run_of_the_kind()
    {
        var registry = ActivityKindRegistry.CreateDefault();
        Assert.That(registry.TryGet("mprotect", out var mprotect), Is.True, "mprotect is built in");
        Assert.That(ActivityKindRegistry.ParameterNames(mprotect!), Is.EqualTo(new List<string> { "offset", "size", "readOnlyFor" }),
            "the keys the kind asks for are its parameters");
    }

    [Test]
    public void Registering_a_name_twice_or_a_malformed_name_is_refused()
    {
        var registry = ActivityKindRegistry.CreateDefault();
        Assert.Multiple(() =>
        {
            Assert.That(() => registry.Register(new BalloonKind("fork")), Throws.ArgumentException, "two kinds cannot share a name");
            Assert.That(() => registry.Register(new BalloonKind("Bad Name")), Throws.ArgumentException, "names are [a-z0-9-]+");
        });
    }

    private static ActivityKindRegistry RegistryWithBalloon()
    {
        var registry = ActivityKindRegistry.CreateDefault();
        registry.Register(new BalloonKind("balloon"));
        return registry;
    }

    private sealed record BalloonParameters(long Target) : ActivityParameters;

    /// <summary>A stand-in for a kind a later layer adds: host-wide (no guest), one parameter.</summary>
    private sealed class BalloonKind(string name) : IActivityKind
    {
        public string Name => name;

        public bool NeedsGuest => false;

        public ActivityParameters Parse(ParameterReader reader) =>
            new BalloonParameters(reader.Size("target", 16L << 20, SizeRules.PositivePages));
    }
}
