namespace Hypervisor.GuestModel.Scenarios;

/// <summary>What the daemon does when a scenario run ends (scenario key <c>restart</c>).</summary>
public enum RestartPolicy
{
    /// <summary>Run once (<c>never</c>).</summary>
    Never,

    /// <summary>Start the scenario again whenever a run ends (<c>always</c>).</summary>
    Always,

    /// <summary>Start it again only when a run ended with a failure or violation (<c>on-failure</c>).</summary>
    OnFailure,
}
