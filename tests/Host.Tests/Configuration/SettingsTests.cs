using Hypervisor.Host.Configuration;
using Hypervisor.Host.Tests.Support;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Configuration;

/// <summary>Where settings come from and which wins: the file, then HYPERVISOR__ variables, then the command line.</summary>
[TestFixture]
[NonParallelizable]
public class SettingsTests
{
    private const string Variable = "HYPERVISOR__Daemon__ChannelCapacity";

    [TearDown]
    public void Clear_the_variable() => Environment.SetEnvironmentVariable(Variable, null);

    private static DaemonOptions Load(string file, SettingsOverrides overrides)
    {
        using var configuration = new ConfigurationManager();
        HypervisorConfiguration.AddSources(configuration, file, overrides);
        return SettingsBinder.Bind(configuration, DaemonOptions.Section, new DaemonOptionsValidator());
    }

    [Test]
    public void An_environment_variable_beats_the_file_and_the_command_line_beats_both()
    {
        using var directory = new TempDirectory();
        var file = ScenarioText.Write(directory, "settings.json", """{ "Daemon": { "ChannelCapacity": 100, "StatsInterval": "00:00:03" } }""");
        Assert.That(Load(file, new SettingsOverrides()).ChannelCapacity, Is.EqualTo(100), "the file's value");

        Environment.SetEnvironmentVariable(Variable, "200");
        Assert.That(Load(file, new SettingsOverrides()).ChannelCapacity, Is.EqualTo(200), "the variable beats the file");

        var overrides = new SettingsOverrides();
        overrides.AddTokens(["--Daemon:ChannelCapacity=300"]);
        var options = Load(file, overrides);
        Assert.That(options.ChannelCapacity, Is.EqualTo(300), "the command line beats the variable");
        Assert.That(options.StatsInterval, Is.EqualTo(TimeSpan.FromSeconds(3)), "keys nobody overrides keep the file's value");
    }

    [Test]
    public void The_shipped_settings_file_is_valid_and_names_the_default_daemon_scenarios()
    {
        var options = Load(HypervisorConfiguration.DefaultFile, new SettingsOverrides());
        Assert.That(options.ScenarioDirectory, Is.EqualTo("config/daemon"), "the daemon serves config/daemon by default");
        Assert.That(options.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)), "30 s to stop, inside docker stop --time 40");
    }

    [Test]
    public void Every_problem_of_a_section_is_reported_one_line_each()
    {
        using var directory = new TempDirectory();
        var file = ScenarioText.Write(directory, "settings.json", """{ "Daemon": { "ChannelCapacity": 1, "ShutdownTimeout": "-00:00:01" } }""");
        var error = Assert.Throws<BadInputException>(() => Load(file, new SettingsOverrides()), "bad values are bad input");
        var lines = error!.Message.Split(Environment.NewLine);
        Assert.That(lines, Has.Length.EqualTo(2), "two problems, two lines");
        Assert.That(lines, Has.All.StartWith(file + ": Daemon:"), "each names the file and the key");
    }
}
