namespace Hypervisor.GuestModel.Scenarios;

public sealed partial class ScenarioLoader
{
    /// <summary>The largest PCT depth accepted (as <c>explore --depth</c>).</summary>
    public const int MaxPctDepth = 64;

    /// <summary>Reads the optional <c>deterministic</c> section; null when absent or invalid (errors reported).</summary>
    private static DeterministicSpec? ReadDeterministic(ParameterReader? reader)
    {
        if (reader is null)
        {
            return null;
        }

        var before = reader.ErrorCount;
        var spec = new DeterministicSpec
        {
            Seed = reader.Has("seed") ? reader.UInt64("seed", 0) : null,
            Strategy = reader.Has("strategy") ? reader.Enum("strategy", DeterministicStrategy.Random) : null,
            Depth = (int?)reader.OptionalLong("depth", 1, MaxPctDepth),
            SwitchProbability = reader.Has("switchProbability") ? reader.Double("switchProbability", 0, 0, 1, minExclusive: true) : null,
            AccessCost = reader.OptionalDuration("accessCost", positive: true),
            MaxSteps = reader.OptionalLong("maxSteps", 1),
            ExploreDuration = reader.OptionalDuration("exploreDuration", positive: true),
        };
        reader.ReportUnknownKeys(ScenarioFields.Deterministic);
        return reader.ErrorCount == before ? spec : null;
    }
}
