using System.Diagnostics.CodeAnalysis;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>The outcome of loading a scenario: the scenario, or every error found (never both).</summary>
public sealed class ScenarioLoadResult
{
    private ScenarioLoadResult(Scenario? scenario, IReadOnlyList<ScenarioError> errors)
    {
        Scenario = scenario;
        Errors = errors;
    }

    /// <summary>The validated scenario when <see cref="Succeeded"/>.</summary>
    public Scenario? Scenario { get; }

    /// <summary>The problems found, in file order; empty when <see cref="Succeeded"/>.</summary>
    public IReadOnlyList<ScenarioError> Errors { get; }

    /// <summary>Whether the file was valid.</summary>
    [MemberNotNullWhen(true, nameof(Scenario))]
    public bool Succeeded => Scenario is not null;

    /// <summary>A successful result.</summary>
    public static ScenarioLoadResult Success(Scenario scenario) => new(scenario, []);

    /// <summary>A failed result; <paramref name="errors"/> must not be empty.</summary>
    public static ScenarioLoadResult Failure(IReadOnlyList<ScenarioError> errors)
    {
        if (errors.Count == 0)
        {
            throw new ArgumentException("A failed load needs at least one error.", nameof(errors));
        }

        return new ScenarioLoadResult(null, errors);
    }

    /// <summary>The errors one per line, for a console.</summary>
    public override string ToString() =>
        Succeeded ? $"scenario '{Scenario.Name}' loaded" : string.Join(Environment.NewLine, Errors);
}
