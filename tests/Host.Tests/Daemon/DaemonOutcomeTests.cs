using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Daemon;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// The exit code the daemon returns from Main: the generic host exits 0 even after a background service failed, so
/// the daemon tracks failures itself. And the restart policy's truth table.
/// </summary>
[TestFixture]
public class DaemonOutcomeTests
{
    [Test]
    public void Clean_runs_exit_0_and_a_run_with_violations_makes_it_1()
    {
        var outcome = new DaemonOutcome();
        Assert.That(outcome.ExitCode, Is.Zero, "nothing happened yet: clean");
        outcome.RecordRun(0);
        Assert.That(outcome.ExitCode, Is.Zero, "a clean run keeps it clean");
        outcome.RecordRun(1);
        outcome.RecordRun(0);
        Assert.That(outcome.ExitCode, Is.EqualTo(1), "one run with violations is enough, later clean runs do not undo it");
    }

    [Test]
    public void An_unhandled_exception_makes_the_exit_code_3_whatever_the_runs_found()
    {
        var outcome = new DaemonOutcome();
        outcome.RecordRun(1);
        var first = new InvalidOperationException("runner bug");
        outcome.RecordFailure(first);
        outcome.RecordFailure(new InvalidOperationException("later"));
        outcome.RecordRun(0);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.ExitCode, Is.EqualTo(3), "a failure outranks violations");
            Assert.That(outcome.Failed, Is.True, "the failure is remembered");
            Assert.That(outcome.FirstFailure, Is.SameAs(first), "the first failure is kept for the report");
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public void Concurrent_runs_record_the_worst_exit_code(CancellationToken token)
    {
        var outcome = new DaemonOutcome();
        Parallel.For(0, 10_000, new ParallelOptions { CancellationToken = token }, i => outcome.RecordRun(i == 7_777 ? 1 : 0));
        Assert.That(outcome.ExitCode, Is.EqualTo(1), "the one run with violations is not lost in a race");
    }

    [TestCase(RestartPolicy.Never, false, false)]
    [TestCase(RestartPolicy.Never, true, false)]
    [TestCase(RestartPolicy.Always, false, true)]
    [TestCase(RestartPolicy.Always, true, true)]
    [TestCase(RestartPolicy.OnFailure, false, false)]
    [TestCase(RestartPolicy.OnFailure, true, true)]
    public void A_run_restarts_as_its_policy_says(RestartPolicy policy, bool failed, bool restarts) =>
        Assert.That(ScenarioSupervisor.ShouldRestart(policy, failed), Is.EqualTo(restarts),
            $"{policy} after a {(failed ? "failed" : "clean")} run");
}
