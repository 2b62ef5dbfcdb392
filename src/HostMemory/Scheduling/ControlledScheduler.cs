using System.Diagnostics;

namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// A controlled scheduler for deterministic runs: every thread of the run is a real thread, but only one runs at a
/// time, and control passes only at scheduling points (<see cref="SchedulingPoint"/>): lock acquires and releases,
/// atomics on protocol state, waits, spins, sleeps and named protocol windows. The strategy picks who runs next from
/// a seed, time is virtual (<see cref="Time"/>), and every step is hashed into <see cref="TraceHash"/>: the same
/// seed and strategy give the same steps, the same hash, on every run and machine.
/// </summary>
/// <remarks>
/// Blocking is never left to the operating system while a thread holds the turn: a lock held by a parked thread
/// would hang the run. Lock types and waits of the protocol go through <see cref="ProtocolLock"/>,
/// <see cref="ProtocolRwLock"/> and <see cref="SchedulingPoint"/>'s waits, which park the thread in the scheduler
/// until its condition holds. If a thread does block outside the scheduler anyway, the watchdog gives up control
/// (<see cref="Abandoned"/>) and the run finishes free-running, with the reason in <see cref="AbandonReason"/>.
/// </remarks>
public sealed partial class ControlledScheduler : IDisposable
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;
    private const int IdleRoundsBeforeStall = 10_000;
    private static readonly long IdleTick = TimeSpan.FromMilliseconds(1).Ticks;

    private readonly List<ControlledThread> _threads = [];
    private readonly List<ControlledThread> _enabled = [];
    private readonly List<ScheduleDecision> _decisions = [];
    private readonly List<ScheduleStep>? _trace;
    private readonly ScheduleStep[] _recent;
    private readonly IScheduleStrategy _strategy;
    private readonly Timer _watchdog;
    private readonly ManualResetEventSlim _allFinished = new(false);
    private ControlledThread? _current;
    private long _steps;

    // Steps that can change what a spinner waits for: every step but spin turns and waits. Two threads spinning on
    // each other's turns must not keep each other runnable while the thread they both wait for sleeps.
    private long _progress;
    private long _switches;
    private long _lastWatchedStep = -1;
    private ulong _hash = FnvOffset;
    private bool _stepLimitCalled;
    private bool _stopCalled;
    private volatile bool _abandoned;
    private string? _abandonReason;
    private int _disposed;

    public ControlledScheduler(ScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _strategy = ScheduleStrategies.Create(options);
        _trace = options.RecordTrace ? [] : null;
        _recent = new ScheduleStep[Math.Max(1, options.RecentSteps)];
        SchedulingPoint.SchedulerCreated();
        _watchdog = new Timer(_ => CheckWatchdog(), null, options.Watchdog, options.Watchdog);
        if (Environment.GetEnvironmentVariable("HV_SCHED_DEBUG") is not null)
        {
            _debug = new Timer(_ => Console.Error.WriteLine(Describe()), null, 2000, 2000);
        }
    }

    private readonly Timer? _debug;

    /// <summary>A one-line description of the scheduler's state (steps, time, threads), for diagnostics.</summary>
    public string Describe() =>
        $"steps {Steps} switches {Switches} time {Time.Elapsed.TotalMilliseconds:0.000} ms current {_current?.Name} " +
        string.Join(" ", _threads.Select(t => $"[{t.Name} {t.State} wake {t.WakeAt}]"));

    public ScheduleOptions Options { get; }

    /// <summary>The run's virtual clock.</summary>
    public VirtualTimeProvider Time { get; } = new();

    /// <summary>Steps taken so far (every scheduling point of every thread).</summary>
    public long Steps => Volatile.Read(ref _steps);

    /// <summary>How often the turn passed from one thread to another.</summary>
    public long Switches => Volatile.Read(ref _switches);

    /// <summary>FNV-1a over every step (thread, kind, point name): equal hashes mean equal interleavings.</summary>
    public ulong TraceHash => Volatile.Read(ref _hash);

    /// <summary>Every step, when <see cref="ScheduleOptions.RecordTrace"/> was set; otherwise null.</summary>
    public IReadOnlyList<ScheduleStep>? Trace => _trace;

    /// <summary>Where this schedule departed from the default choice: the replay token's content.</summary>
    public IReadOnlyList<ScheduleDecision> Decisions => _decisions;

    /// <summary>Names of the threads in creation order.</summary>
    public IReadOnlyList<string> ThreadNames => [.. _threads.Select(t => t.Name)];

    /// <summary>True once control was given up (a stall, or a thread blocked outside the scheduler).</summary>
    public bool Abandoned => _abandoned;

    public string? AbandonReason => _abandonReason;

    /// <summary>The step at which <see cref="StopWhen"/> first held (the violation's step), or 0.</summary>
    public long StopStep { get; private set; }

    /// <summary>The last steps up to <see cref="StopStep"/> (the interleaving that led to the violation), or null.</summary>
    public IReadOnlyList<ScheduleStep>? StopWindow { get; private set; }

    /// <summary>Called once, by the running thread, when <see cref="ScheduleOptions.MaxSteps"/> is reached.</summary>
    public Action? StepLimitReached { get; set; }

    /// <summary>Checked at every step; the first time it holds, <see cref="Stop"/> is called once.</summary>
    public Func<bool>? StopWhen { get; set; }

    /// <summary>Called once, by the running thread, when <see cref="StopWhen"/> first holds.</summary>
    public Action? Stop { get; set; }

    /// <summary>The last steps before now (up to <see cref="ScheduleOptions.RecentSteps"/>), oldest first.</summary>
    public IReadOnlyList<ScheduleStep> RecentSteps()
    {
        var count = (int)Math.Min(_steps, _recent.Length);
        var list = new List<ScheduleStep>(count);
        for (var i = _steps - count; i < _steps; i++)
        {
            list.Add(_recent[i % _recent.Length]);
        }

        return list;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on the calling thread as the run's first controlled thread (id 0): the threads it
    /// starts through <see cref="SchedulingPoint.Start"/> are controlled too. Every one of them must have finished
    /// when the body returns; any left over are released to run free.
    /// </summary>
    public T RunMain<T>(string name, Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (_threads.Count != 0)
        {
            throw new InvalidOperationException("a controlled scheduler runs one main body");
        }

        var main = Register(name);
        main.State = ControlledThreadState.Runnable;
        _current = main;
        SchedulingPoint.Attach(main);
        try
        {
            return body();
        }
        finally
        {
            SchedulingPoint.Attach(null);
            main.State = ControlledThreadState.Finished;
            if (!_abandoned && _threads.Any(t => !t.IsFinished))
            {
                Abandon("the run's main body returned with threads still running: " +
                    string.Join(", ", _threads.Where(t => !t.IsFinished).Select(t => t.Name)));
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _watchdog.Dispose();
        _debug?.Dispose();
        SchedulingPoint.SchedulerDisposed();
        _allFinished.Dispose();
        if (_threads.All(t => t.IsFinished))
        {
            _threads.ForEach(t => t.Dispose());
        }
    }

    internal ControlledThread Register(string name)
    {
        var thread = new ControlledThread(this, _threads.Count, name);
        _threads.Add(thread);
        _strategy.ThreadCreated(this, thread);
        return thread;
    }

    /// <summary>A scheduling point of the running thread: record the step, then let the strategy pick who runs next.</summary>
    internal void Point(ControlledThread self, SchedulingPointKind kind, string name)
    {
        if (_abandoned)
        {
            return;
        }

        Debug.Assert(ReferenceEquals(_current, self), "only the thread holding the turn reaches a scheduling point");
        Record(self, kind, name);
        Pass(self);
    }

    /// <summary>
    /// Parks the running thread until <paramref name="ready"/> holds (or, if null, until another thread took a step),
    /// or virtual time reaches <paramref name="wakeAt"/>.
    /// </summary>
    internal void Wait(ControlledThread self, SchedulingPointKind kind, string name, Func<bool>? ready, long wakeAt)
    {
        if (_abandoned)
        {
            return;
        }

        Debug.Assert(ReferenceEquals(_current, self), "only the thread holding the turn waits");
        Record(self, kind, name);
        self.State = ControlledThreadState.Waiting;
        self.Ready = ready;
        self.WaitStep = _progress;
        self.WakeAt = wakeAt;
        Pass(self);
        self.State = ControlledThreadState.Runnable;
        self.Ready = null;
        self.WakeAt = long.MaxValue;
    }

    /// <summary>The thread's body returned: pass the turn on for good.</summary>
    internal void Finish(ControlledThread self)
    {
        if (_abandoned)
        {
            self.State = ControlledThreadState.Finished;
            return;
        }

        Record(self, SchedulingPointKind.Finish, "exit");
        self.State = ControlledThreadState.Finished;
        var next = Choose(self, forced: true);
        if (next is not null)
        {
            HandOver(next);
        }
        else if (_threads.All(t => t.IsFinished))
        {
            _allFinished.Set();
        }
    }

    /// <summary>
    /// Starts a registered thread: the creator waits (outside the scheduler: the new thread needs no turn for this)
    /// until it is parked at its first turn, so the moment it becomes runnable does not depend on the OS.
    /// </summary>
    internal void Start(ControlledThread self, ControlledThread started, Thread thread)
    {
        thread.Start();
        if (_abandoned)
        {
            return;
        }

        // Named wait: the new thread reaches its first turn (a few microseconds; no scheduler state changes meanwhile).
        started.Arrived.Wait();
        started.State = ControlledThreadState.Runnable;
        Point(self, SchedulingPointKind.Start, started.Name);
    }

    /// <summary>The first thing a controlled thread does on its own OS thread: park until its first turn.</summary>
    internal void Arrive(ControlledThread self)
    {
        self.Arrived.Set();
        if (!_abandoned)
        {
            // Named wait: the scheduler hands this thread its first turn.
            self.Turn.Wait();
        }
    }

    private void Record(ControlledThread self, SchedulingPointKind kind, string name)
    {
        var step = ++_steps;
        // Every step takes a little virtual time, so a thread that loops without sleeping (a fault retrying while an
        // invalidation is open) still lets the clock reach the sleepers it may be waiting for.
        Time.AdvanceTo(Time.Ticks + Options.StepTicks);
        if (kind is not (SchedulingPointKind.Spin or SchedulingPointKind.Wait))
        {
            _progress++;
        }

        var hash = _hash;
        hash = (hash ^ (ulong)self.Id) * FnvPrime;
        hash = (hash ^ (byte)kind) * FnvPrime;
        foreach (var c in name)
        {
            hash = (hash ^ c) * FnvPrime;
        }

        _hash = hash;
        var entry = new ScheduleStep(step, self.Id, self.Name, kind, name, Time.Ticks);
        _recent[step % _recent.Length] = entry;
        _trace?.Add(entry);
        if (!_stopCalled && StopWhen is { } stopWhen && stopWhen())
        {
            _stopCalled = true;
            StopStep = step;
            StopWindow = RecentSteps();
            Stop?.Invoke();
        }

        if (!_stepLimitCalled && step >= Options.MaxSteps)
        {
            _stepLimitCalled = true;
            StepLimitReached?.Invoke();
        }
    }

    /// <summary>Lets the strategy choose; if it chose another thread, hands it the turn and parks until ours comes back.</summary>
    private void Pass(ControlledThread self)
    {
        var forced = self.State != ControlledThreadState.Runnable;
        var next = Choose(self, forced);
        if (next is null)
        {
            return; // abandoned (a stall): run free
        }

        if (!ReferenceEquals(next, self))
        {
            HandOver(next);
            // Named wait: the turn comes back to this thread (or control is abandoned).
            self.Turn.Wait();
        }
    }

    private void HandOver(ControlledThread next)
    {
        _current = next;
        _switches++;
        next.Turn.Release();
    }
}
