using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// Bad settings stop the daemon before it starts anything: exit code 2 and one line on stderr that says where the
/// value came from (file, environment variable, command line), which key, and what was expected. No stack trace.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeBadInputTests
{
    private static (int Exit, HypervisorProcess Process) Serve(TempDirectory directory,
        IReadOnlyDictionary<string, string>? environment, CancellationToken token, params string[] args) =>
        HypervisorProcess.Run(directory.Path, environment, token, ["serve", "--log-dir", directory.Combine("logs"), .. args]);

    private static void AssertOneLineError(int exit, HypervisorProcess process, string expectedStart, string expectedPart)
    {
        var lines = process.StandardError.Trim().Split('\n');
        Assert.That(exit, Is.EqualTo(2), $"bad input exits 2\n{process}");
        Assert.That(lines, Has.Length.EqualTo(1), $"one line of error\n{process}");
        Assert.That(lines[0], Does.StartWith(expectedStart).And.Contain(expectedPart), "the line names the source, key and expectation");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_malformed_value_on_the_command_line_names_the_key_and_the_expected_form(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = Serve(directory, null, token, "--Daemon:StatsInterval=ten");
        using var _ = process;
        AssertOneLineError(exit, process, "command line: Daemon:StatsInterval:", "expected a time span such as 00:00:10");
    }

    [Test]
    [CancelAfter(30_000)]
    public void An_out_of_range_value_in_an_environment_variable_names_the_variable(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = Serve(directory, new Dictionary<string, string> { ["HYPERVISOR__Logging__RetainedFileCountLimit"] = "0" }, token);
        using var _ = process;
        AssertOneLineError(exit, process, "environment variable HYPERVISOR__Logging__RetainedFileCountLimit: Logging:RetainedFileCountLimit:",
            "expected an integer >= 1, got 0");
    }

    [Test]
    [CancelAfter(30_000)]
    public void An_unknown_key_in_the_settings_file_is_refused_with_the_known_ones(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var settings = ScenarioText.Write(directory, "settings.json", """{ "Daemon": { "ScenarioDirectry": "x" } }""");
        var (exit, process) = Serve(directory, null, token, "--config", settings);
        using var _ = process;
        AssertOneLineError(exit, process, "settings.json: Daemon:ScenarioDirectry: unknown setting", "ScenarioDirectory");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_settings_file_that_is_not_JSON_is_named(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var settings = ScenarioText.Write(directory, "settings.json", "{ \"Daemon\": ");
        var (exit, process) = Serve(directory, null, token, "--config", settings);
        using var _ = process;
        AssertOneLineError(exit, process, settings, "expected a JSON settings file");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_log_directory_that_cannot_be_created_is_bad_input(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var file = ScenarioText.Write(directory, "a-file", "not a directory");
        var (exit, process) = HypervisorProcess.Run(directory.Path, token, "serve", "--log-dir", Path.Combine(file, "logs"));
        using var _ = process;
        AssertOneLineError(exit, process, "Logging:LogDirectory:", "expected a directory that can be created");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_missing_scenario_directory_is_bad_input(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = Serve(directory, null, token, "--Daemon:ScenarioDirectory=no-such-dir");
        using var _ = process;
        AssertOneLineError(exit, process, "Daemon:ScenarioDirectory:", "'no-such-dir' (not found)");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_stray_argument_is_refused_with_the_override_syntax(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var (exit, process) = Serve(directory, null, token, "--Deamon:ScenarioDirectory=x");
        using var _ = process;
        AssertOneLineError(exit, process, "unexpected argument '--Deamon:ScenarioDirectory=x'", "--Daemon:ScenarioDirectory=DIR");
    }
}
