using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// A bug that throws on a vCPU or activity thread must not tear the process down (an unhandled exception on any
/// thread ends a .NET process): the run stops and the exception comes out of <see cref="ScenarioRunner.Run"/>, where
/// the command line reports an internal error and the daemon records a failed run.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class RunnerFailureTests
{
    private sealed class ThrowingExecutor : IActivityExecutor
    {
        public string Kind => "madvise-dontneed";

        public string Fire(ActivityContext context, ActivitySpec spec) => throw new InvalidOperationException("executor bug");
    }

    [Test]
    public void An_exception_on_an_activity_thread_stops_the_run_and_reaches_the_caller(CancellationToken token)
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead + """

            duration: 30s
            activities:
              - kind: madvise-dontneed
                guest: g
                at: 100ms
                offset: 0
                size: 1MiB
            """);
        var executors = ActivityExecutors.CreateDefault();
        executors.Register(new ThrowingExecutor());
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var thrown = Assert.Throws<InvalidOperationException>(() => new ScenarioRunner(executors).Run(scenario, new RunOptions(), token));

        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Is.EqualTo("executor bug"));
            Assert.That(thrown.StackTrace, Does.Contain(nameof(ThrowingExecutor)), "the original stack trace is kept for the bug report");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "the run stopped at the failure, not at its 30 s duration");
        });
    }
}
