using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// Shared start gate, stop signal and access budget of one run. Workers poll <see cref="StopRequested"/> between
/// batches and wait on <see cref="Stopping"/> instead of sleeping, so a stop is never late by more than a batch.
/// </summary>
/// <remarks>
/// Every guarded thread parks at the start gate until <see cref="Open"/>. Starting a thread waits until the new thread
/// is scheduled once; with the earlier threads already running, that costs a scheduler slice per running thread, so
/// starting thousands of them one by one on two cores took minutes. Parked, they cost nothing to start, and the run's
/// clock starts when the gate opens.
/// </remarks>
public sealed class RunControl : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private const int StarterThreads = 8;

    private readonly ManualResetEventSlim _gate = new(false);
    private long _budget;
    private ExceptionDispatchInfo? _failure;
    private long _stopAtTicks = long.MaxValue;
    private Thread? _timer;
    private long _openedAt;
    private int _vcpusRunning;

    public RunControl(long? accessBudget) => _budget = accessBudget ?? long.MaxValue;

    public bool StopRequested => _stop.IsCancellationRequested;

    /// <summary>Accesses each vCPU makes before it leaves its loop (<see cref="Scenarios.Scenario.AccessesPerVcpu"/>); null: no limit.</summary>
    public long? AccessesPerVcpu { get; init; }

    /// <summary>The run's clock, read by the vCPUs for the times they enter and leave their access loops.</summary>
    public RunClock? Clock { get; init; }

    /// <summary>Set for a deterministic run (the vCPUs consume virtual time per access).</summary>
    public ScheduleSettings? Schedule { get; init; }

    public CancellationToken Stopping => _stop.Token;

    public void RequestStop() => _stop.Cancel();

    /// <summary>True once <see cref="Open"/> let the guarded threads run.</summary>
    public bool IsOpen => _gate.IsSet;

    /// <summary>
    /// Starts <paramref name="threads"/> (guarded ones, which park at the gate) and returns those started: all of them,
    /// or fewer if the run was stopped meanwhile. Several starter threads share the work: each start waits for the new
    /// thread to be scheduled once, and on a loaded machine those waits add up one after another.
    /// </summary>
    public IReadOnlyList<Thread> StartAll(IReadOnlyList<Thread> threads)
    {
        ArgumentNullException.ThrowIfNull(threads);
        if (SchedulingPoint.IsControlled)
        {
            // A controlled run starts its threads one by one, in order: each start is a step of the schedule.
            foreach (var thread in threads)
            {
                SchedulingPoint.Start(thread);
            }

            return threads;
        }

        var started = new bool[threads.Count];
        var next = -1;
        var starters = Enumerable.Range(0, Math.Min(StarterThreads, threads.Count)).Select(_ => new Thread(() =>
        {
            int i;
            while (!StopRequested && (i = Interlocked.Increment(ref next)) < threads.Count)
            {
                threads[i].Start();
                started[i] = true;
            }
        }) { IsBackground = true, Name = "run-starter" }).ToList();
        starters.ForEach(s => s.Start());

        // Named wait: every starter has started its share, or seen the stop.
        starters.ForEach(s => s.Join());
        return [.. threads.Where((_, i) => started[i])];
    }

    /// <summary>
    /// Lets every guarded thread, parked or yet to start, run its body, and requests the stop once
    /// <paramref name="duration"/> has passed from this moment (none: the run ends by its budget or a stop). The
    /// duration must be within <see cref="Scenarios.ScenarioLimits.MaxTimer"/>, as validation ensures.
    /// </summary>
    /// <remarks>
    /// The duration is kept by a thread of its own, started while the gate is still shut, not by a
    /// <see cref="Timer"/> (<c>CancelAfter</c>): a timer's callback runs on the thread pool, and with a thousand runnable
    /// vCPU threads on two cores the pool ran it 25 to 70 s late (a 1 s run lasted 71 s). Started after the gate, the
    /// thread itself would wait for a core before it began to count; it counts from the opening instead.
    /// </remarks>
    public void Open(TimeSpan? duration = null)
    {
        if (duration is { } virtualLimit && SchedulingPoint.VirtualTime is { } time)
        {
            // No timer thread in virtual time: the first sleeper to reach the deadline stops the run.
            _stopAtTicks = time.Ticks + virtualLimit.Ticks;
        }
        else if (duration is { } limit)
        {
            Debug.Assert(limit <= Scenarios.ScenarioLimits.MaxTimer, "validation keeps durations within a wait's 2^31-1 ms limit");
            var stopped = _stop.Token.WaitHandle;
            var timer = new Thread(() =>
            {
                // Named wait: the gate's opening (or a stop before it).
                if (WaitHandle.WaitAny([_gate.WaitHandle, stopped]) != 0)
                {
                    return;
                }

                // Named wait: what is left of the duration since the opening, or an earlier stop.
                var left = limit - Stopwatch.GetElapsedTime(Volatile.Read(ref _openedAt));
                if (left <= TimeSpan.Zero || !stopped.WaitOne(left))
                {
                    RequestStop();
                }
            }) { IsBackground = true, Name = "run-timer" };
            timer.Start();
            _timer = timer;
        }

        Volatile.Write(ref _openedAt, Stopwatch.GetTimestamp());
        _gate.Set();
    }

    public void Dispose()
    {
        // The timer thread waits on the stop's handle: wake it and let it leave before the handle goes.
        RequestStop();
        _timer?.Join();
        _stop.Dispose();
        _gate.Dispose();
    }

    /// <summary>
    /// Wraps the body of a vCPU or activity thread: an exception there (a bug in the simulator) is kept and stops the
    /// run, instead of tearing the process down with it. The runner rethrows it with <see cref="ThrowIfFailed"/>.
    /// </summary>
    public ThreadStart Guard(Action body) => () =>
    {
        try
        {
            // Named wait: the start gate (see the remarks); a stop before it opens means the body never runs.
            if (SchedulingPoint.IsControlled)
            {
                SchedulingPoint.WaitUntil(() => IsOpen || StopRequested, Timeout.InfiniteTimeSpan, "start gate");
                if (StopRequested)
                {
                    return;
                }
            }
            else if (WaitHandle.WaitAny([_gate.WaitHandle, _stop.Token.WaitHandle]) != 0 || StopRequested)
            {
                return;
            }

            body();
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            RequestStop();
        }
    };

    /// <summary>Rethrows the first exception a guarded thread raised, with its original stack trace.</summary>
    public void ThrowIfFailed() => Volatile.Read(ref _failure)?.Throw();

    /// <summary>
    /// Sets how many vCPU workers run: with <see cref="AccessesPerVcpu"/>, the run stops once that many have left
    /// their loops (<see cref="VcpuLeft"/>), as a KVM selftest's main thread joins its vCPU threads.
    /// </summary>
    public void ExpectVcpus(int count) => Volatile.Write(ref _vcpusRunning, count);

    /// <summary>A vCPU worker left its access loop (quota made, run stopped, VM dead); the last one ends a per-vCPU run.</summary>
    public void VcpuLeft()
    {
        if (Interlocked.Decrement(ref _vcpusRunning) == 0 && AccessesPerVcpu is not null)
        {
            RequestStop();
        }
    }

    /// <summary>Claims up to <paramref name="batch"/> accesses from the budget; returns how many were granted.</summary>
    public int ClaimAccesses(int batch)
    {
        if (Interlocked.Read(ref _budget) == long.MaxValue)
        {
            return batch;
        }

        var left = Interlocked.Add(ref _budget, -batch) + batch;
        if (left <= 0)
        {
            RequestStop();
            return 0;
        }

        return (int)Math.Min(batch, left);
    }

    /// <summary>Waits for <paramref name="delay"/> unless the run stops first; true if the run is still going.</summary>
    public bool Sleep(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return !StopRequested;
        }

        if (SchedulingPoint.VirtualTime is { } time)
        {
            // Named wait: the timer in virtual time, cut short by the run's stop or its deadline.
            var now = time.Ticks;
            var until = Math.Min(now + delay.Ticks, _stopAtTicks);
            SchedulingPoint.WaitUntil(() => StopRequested, TimeSpan.FromTicks(Math.Max(0, until - now)), "timer");
            if (time.Ticks >= _stopAtTicks)
            {
                RequestStop();
            }

            return !StopRequested;
        }

        // A wait's timeout counts whole milliseconds: wait those, then spin out the rest, so that microsecond timings
        // (every: 250us) are kept instead of rounded down to no wait at all.
        var deadline = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        var whole = TimeSpan.FromMilliseconds(Math.Floor(delay.TotalMilliseconds));
        if (whole > TimeSpan.Zero && _stop.Token.WaitHandle.WaitOne(whole))
        {
            return false;
        }

        var spin = new SpinWait();
        while (Stopwatch.GetTimestamp() < deadline && !StopRequested)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        return !StopRequested;
    }
}
