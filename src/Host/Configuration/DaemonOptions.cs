namespace Hypervisor.Host.Configuration;

/// <summary>The <c>Daemon</c> section of the settings: what <c>hypervisor serve</c> runs and how it stops.</summary>
internal sealed class DaemonOptions
{
    /// <summary>The settings section these options bind to.</summary>
    public const string Section = "Daemon";

    /// <summary>Scenario files to serve; when empty, every <c>*.yaml</c> in <see cref="ScenarioDirectory"/>.</summary>
    public List<string> Scenarios { get; set; } = [];

    /// <summary>Directory of the scenarios to serve when <see cref="Scenarios"/> is empty.</summary>
    public string ScenarioDirectory { get; set; } = "config/daemon";

    /// <summary>Period of the <c>PipelineStatistics</c> log event.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stop (SIGTERM, Ctrl+C) may take: runners stop, the log drains (<c>HostOptions.ShutdownTimeout</c>).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pause before a scenario starts again under its restart policy (keeps a failing scenario from spinning).</summary>
    public TimeSpan RestartDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Directory for one summary JSON file per finished run (<c>SCENARIO-RUNID.json</c>); none when empty.</summary>
    public string? SummaryDirectory { get; set; }

    /// <summary>Capacity of the bounded event channel between the runners and the log (producers wait when it is full).</summary>
    public int ChannelCapacity { get; set; } = 65_536;
}
