using System.Diagnostics;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Fuzz;

/// <summary>
/// Hostile input at scale: thousands of generated malformed scenario files, bad command lines and daemon stops at
/// random moments (the first 100 ms included). Nothing may crash, hang (30 s per input) or print a stack trace. The
/// default suite runs a small sample of each; <c>dotnet test --filter TestCategory=Fuzz</c> runs the full harness and
/// prints its figures. A failure names the seed and the input's index, which reproduce it.
/// </summary>
[TestFixture]
[NonParallelizable]
public class FuzzTests
{
    private const int Seed = 1917;
    private static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(30);

    [Test]
    [CancelAfter(120_000)]
    public void A_sample_of_malformed_scenario_files_is_refused_cleanly(CancellationToken token) => FuzzScenarioFiles(200, token);

    [Test]
    [Category("Fuzz")]
    [CancelAfter(1_800_000)]
    public void Thousands_of_malformed_scenario_files_are_refused_cleanly(CancellationToken token) => FuzzScenarioFiles(3000, token);

    [Test]
    [CancelAfter(300_000)]
    public void A_sample_of_bad_command_lines_ends_with_one_line_and_no_stack_trace(CancellationToken token) => FuzzCommandLines(6, token);

    [Test]
    [Category("Fuzz")]
    [CancelAfter(3_600_000)]
    public void Many_bad_command_lines_end_with_one_line_and_no_stack_trace(CancellationToken token) => FuzzCommandLines(150, token);

    [Test]
    [CancelAfter(300_000)]
    public void A_sample_of_daemon_stops_at_random_times_is_graceful(CancellationToken token) => FuzzDaemonStops(3, token);

    [Test]
    [Category("Fuzz")]
    [CancelAfter(3_600_000)]
    public void Daemon_stops_at_random_times_including_the_first_100_ms_are_graceful(CancellationToken token) => FuzzDaemonStops(40, token);

    /// <summary>Inputs the harness once found a crash with, kept in <c>Fuzz/Findings</c> (named by seed and index).</summary>
    [TestCase("seed1917-input2631.yaml", TestName = "Fuzz finding 1917/2631 (a value YamlDotNet's node loader rejects with ArgumentException) is refused")]
    public void A_fuzz_finding_stays_fixed(string file)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzz", "Findings", file);
        var result = ScenarioLoader.Default.LoadFile(path);
        Assert.That(result.Succeeded, Is.False, "the input is malformed; it used to escape the loader as an exception");
        Assert.That(result.Errors.Select(e => e.ToString()), Has.All.StartWith(path), "reported as errors of the file");
    }

    /// <summary>Writes input <paramref name="index"/> of the harness's sequence to a file, to keep a finding.</summary>
    [Explicit("a tool: keeps a finding as a file")]
    [TestCase(2631)]
    public void Write_a_fuzz_input(int index)
    {
        var inputs = new MalformedInputs(Seed);
        var bases = ScenarioBases();
        var text = string.Empty;
        for (var i = 0; i <= index; i++)
        {
            text = inputs.Scenario(bases);
        }

        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, $"seed{Seed}-input{index}.yaml");
        File.WriteAllText(path, text);
        TestContext.Out.WriteLine(path);
    }

    private static List<string> ScenarioBases() =>
        [.. Directory.GetFiles(Path.Combine(TestContext.CurrentContext.TestDirectory, "config", "scenarios"), "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(TestContext.CurrentContext.TestDirectory, "config", "daemon"), "*.yaml"))
            .Select(File.ReadAllText)];

    private static void FuzzScenarioFiles(int count, CancellationToken token)
    {
        var bases = ScenarioBases();
        var inputs = new MalformedInputs(Seed);
        var (refused, accepted, slowest) = (0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            token.ThrowIfCancellationRequested();
            var text = inputs.Scenario(bases);
            ScenarioLoadResult? result = null;
            Exception? thrown = null;

            // A thread of its own with a modest stack (1 MiB, below the main thread's), so unbounded recursion shows here.
            var worker = new Thread(() =>
            {
                try
                {
                    result = ScenarioLoader.Default.LoadText(text, "fuzz.yaml");
                }
                catch (Exception e)
                {
                    thrown = e;
                }
            }, maxStackSize: 1 << 20);
            var clock = Stopwatch.StartNew();
            worker.Start();
            Assert.That(worker.Join(PerInputLimit), Is.True, $"seed {Seed} input {i}: loading finishes within {PerInputLimit}");
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
            Assert.That(thrown, Is.Null, $"seed {Seed} input {i}: bad input is reported, never thrown:\n{Head(text)}");
            if (result!.Succeeded)
            {
                accepted++;
                continue;
            }

            refused++;
            var lines = Host.Cli.ScenarioFiles.ErrorLines(result).ToList();
            Assert.That(lines, Has.Count.LessThanOrEqualTo(ScenarioLimits.MaxPrintedErrors + 1), $"seed {Seed} input {i}: printed errors are capped");
            Assert.That(lines, Has.All.Not.Contain('\n').And.Not.Contain("   at "), $"seed {Seed} input {i}: one line per error, no stack trace");
            Assert.That(lines, Has.All.StartWith("fuzz.yaml"), $"seed {Seed} input {i}: every error names the file");
        }

        TestContext.Out.WriteLine($"scenario files: {count} generated (seed {Seed}), {refused} refused, {accepted} valid, " +
            $"0 crashes, 0 hangs, 0 stack traces; slowest load {slowest.TotalMilliseconds:F0} ms");
    }

    private static void FuzzCommandLines(int count, CancellationToken token)
    {
        using var directory = new TempDirectory();
        var scenario = ScenarioText.Write(directory, "s.yaml", ScenarioText.Tiny("s", duration: "300ms"));
        var original = File.ReadAllText(scenario);
        var inputs = new MalformedInputs(Seed);
        var codes = new Dictionary<int, int>();
        for (var i = 0; i < count; i++)
        {
            token.ThrowIfCancellationRequested();
            var args = inputs.CommandLine(scenario, directory.Path);
            var line = string.Join(' ', args.Select(a => $"'{a}'"));
            var exit = RunBounded(directory.Path, args, out var tool, token);
            codes[exit] = codes.GetValueOrDefault(exit) + 1;
            Assert.That(exit, Is.AnyOf(0, 1, 2, 3), $"seed {Seed} line {i}: {line}: a defined exit code\n{tool}");
            Assert.That(tool.StandardError, Does.Not.Contain("   at ").And.Not.Contain("internal error"), $"seed {Seed} line {i}: {line}: no stack trace, no internal error\n{tool}");
            if (exit == 3)
            {
                Assert.That(tool.StandardError, Does.Contain("cannot write"), $"seed {Seed} line {i}: {line}: exit 3 only for an output that could not be written\n{tool}");
            }

            Assert.That(File.ReadAllText(scenario), Is.EqualTo(original), $"seed {Seed} line {i}: {line}: the scenario named on the line is never replaced");
        }

        TestContext.Out.WriteLine($"command lines: {count} (seed {Seed}), exit codes {string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}"))}; " +
            "0 crashes, 0 hangs, 0 stack traces");
    }

    private static void FuzzDaemonStops(int count, CancellationToken token)
    {
        var random = new Random(Seed);
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < count; i++)
        {
            token.ThrowIfCancellationRequested();
            using var directory = new TempDirectory();
            ScenarioText.Write(directory, "scenarios/tiny.yaml", ScenarioText.Tiny("tiny", restart: "always"));
            var delay = TimeSpan.FromMilliseconds(i % 2 == 0 ? random.Next(0, 100) : random.Next(100, 3000));
            using var daemon = HypervisorProcess.Start(directory.Path, null, "serve", "--log-dir", directory.Combine("logs"),
                $"--Daemon:ScenarioDirectory={directory.Combine("scenarios")}");
            Thread.Sleep(delay);
            daemon.Terminate();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
            limit.CancelAfter(PerInputLimit);
            var exit = daemon.WaitForExit(limit.Token);
            var logs = directory.Combine("logs");
            var logged = Directory.Exists(logs) && Directory.EnumerateFiles(logs).Any(f => new FileInfo(f).Length > 0);
            var key = $"exit {exit}{(logged ? string.Empty : ", no log")}";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            Assert.That(daemon.StandardError, Does.Not.Contain("   at "), $"stop {i} at {delay.TotalMilliseconds} ms: no stack trace\n{daemon}");
            if (exit == 143)
            {
                // Only a signal that beats the runtime to Main can do this: then nothing was written, so nothing is lost.
                Assert.That(logged, Is.False, $"stop {i} at {delay.TotalMilliseconds} ms: a killed daemon had not written anything\n{daemon}");
                continue;
            }

            Assert.That(exit, Is.Zero, $"stop {i} at {delay.TotalMilliseconds} ms: a stop is graceful\n{daemon}");
            if (logged)
            {
                LogContract.AssertConforms(JsonLog.Read(logs));
            }
        }

        TestContext.Out.WriteLine($"daemon stops: {count} (seed {Seed}), {string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}"))}");
    }

    /// <summary>Runs the tool; a <c>serve</c> still running after 3 s is stopped with SIGTERM (it must then end).</summary>
    private static int RunBounded(string directory, string[] args, out HypervisorProcess tool, CancellationToken token)
    {
        tool = HypervisorProcess.Start(directory, null, args);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        limit.CancelAfter(PerInputLimit);
        if (args is ["serve", ..] && !tool.ExitsWithin(TimeSpan.FromSeconds(3)))
        {
            // Settings that happen to be valid: the daemon serves, and must stop the way an operator stops it.
            tool.Terminate();
        }

        return tool.WaitForExit(limit.Token);
    }

    private static string Head(string text) => text.Length <= 400 ? text : text[..400] + "...";
}
