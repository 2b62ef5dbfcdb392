using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Start-up and stop with many threads: threads park at a start gate, so creating thousands of them neither delays the
/// stop nor eats into the duration; the stop is wired before the first thread starts.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class StartAndStopTests
{
    [Test]
    public void A_guarded_thread_does_not_run_its_body_before_the_gate_opens()
    {
        using var control = new RunControl(null);
        var ran = 0;
        var threads = control.StartAll([new Thread(control.Guard(() => Interlocked.Increment(ref ran)))]);
        Thread.Sleep(50);
        Assert.That(Volatile.Read(ref ran), Is.Zero, "parked at the gate");
        control.Open();
        threads.Single().Join();
        Assert.That(ran, Is.EqualTo(1), "runs once the gate opens");
    }

    [Test]
    public void A_stop_before_the_gate_opens_ends_parked_threads_without_running_them()
    {
        using var control = new RunControl(null);
        var ran = 0;
        var threads = control.StartAll([.. Enumerable.Range(0, 50).Select(_ => new Thread(control.Guard(() => Interlocked.Increment(ref ran))))]);
        control.RequestStop();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.That(ran, Is.Zero, "a stopped run never starts its bodies");
    }

    [Test]
    public void StartAll_starts_nothing_more_once_the_run_is_stopped()
    {
        using var control = new RunControl(null);
        control.RequestStop();
        var started = control.StartAll([.. Enumerable.Range(0, 20).Select(_ => new Thread(control.Guard(() => { })))]);
        Assert.That(started, Is.Empty, "a stop during start-up (SIGTERM) is not delayed by starting the rest");
    }

    [Test]
    public void The_duration_stops_the_run_by_timer()
    {
        using var control = new RunControl(null);
        control.Open(TimeSpan.FromMilliseconds(20));
        Assert.That(control.Stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)), Is.True, "the duration is a timer, not the sampler's loop");
    }

    [Test]
    [NonParallelizable]
    public void The_duration_stops_the_run_while_the_thread_pool_and_the_timer_thread_are_starved()
    {
        // As a thousand runnable vCPU threads starve them on two cores: every pool thread busy, and the runtime's timer
        // thread busy with a callback of its own. A CancellationTokenSource.CancelAfter would wait for either.
        using var release = new ManualResetEventSlim(false);
        void Busy()
        {
            // Sleeping, not waiting on the event: a pool thread blocked in Wait is compensated for at once.
            while (!release.IsSet)
            {
                Thread.Sleep(5);
            }
        }

        var blockers = Enumerable.Range(0, 256).Select(_ => Task.Run(Busy)).ToArray();
        using var busyTimer = new Timer(_ => Busy(), null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        try
        {
            Thread.Sleep(100);
            using var control = new RunControl(null);
            control.Open(TimeSpan.FromMilliseconds(20));
            Assert.That(control.Stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(5)), Is.True,
                "the run's timer depends on neither the thread pool nor the runtime's timer thread");
        }
        finally
        {
            release.Set();
            Task.WaitAll(blockers);
        }
    }

    [Test]
    public void A_run_cancelled_before_it_starts_runs_no_access_and_still_returns_its_summary(CancellationToken token)
    {
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(200));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = TimeSpan.FromSeconds(30) }, cancelled.Token);

        Assert.Multiple(() =>
        {
            Assert.That(summary.Totals.Accesses, Is.Zero, "the stop was wired before the threads started");
            Assert.That(summary.Guests, Has.Count.EqualTo(200), "the summary covers every guest");
        });
    }

    [Test]
    public void Many_guests_run_and_stop(CancellationToken token)
    {
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(300));
        var summary = new ScenarioRunner().Run(scenario, new RunOptions { Duration = TimeSpan.FromMilliseconds(300) }, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Totals.Accesses, Is.GreaterThan(0), "the guests ran");
            Assert.That(summary.Violations.Total, Is.Zero, "no violation");
        });
    }
}
