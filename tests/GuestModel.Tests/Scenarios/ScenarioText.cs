using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>Loads scenario text in tests and asserts on the outcome with the errors in the failure message.</summary>
internal static class ScenarioText
{
    /// <summary>A valid scenario head: name, host and one guest, to which a test appends.</summary>
    public const string MinimalHead = """
        name: t
        host:
          ram: 1GiB
        guests:
          - name: g
            memory: 64MiB
            vcpus: 2
        """;

    public static Scenario LoadValid(string yaml)
    {
        var result = ScenarioLoader.Default.LoadText(yaml, "test.yaml");
        Assert.That(result.Errors, Is.Empty, "the scenario is valid, but: " + result);
        return result.Scenario!;
    }

    public static IReadOnlyList<ScenarioError> LoadErrors(string yaml)
    {
        var result = ScenarioLoader.Default.LoadText(yaml, "test.yaml");
        Assert.That(result.Succeeded, Is.False, "the scenario is invalid and must be refused");
        return result.Errors;
    }
}
