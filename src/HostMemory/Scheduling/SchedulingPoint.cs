using System.Runtime.CompilerServices;

namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// The scheduling-point API every lock, protocol atomic, wait and named protocol window goes through. In a
/// free-running process (no <see cref="ControlledScheduler"/> alive) each point costs one read of a static field;
/// on a thread of a controlled run each point is a place where the scheduler may hand the turn to another thread.
/// </summary>
/// <remarks>
/// Name points after the kernel step they mirror (<c>"mmu_lock"</c>, <c>"invalidate_range_start"</c>,
/// <c>"gup→mmu_lock"</c>): replays print them. Waits must never block in the operating system on a controlled
/// thread; use <see cref="SpinOnce"/>, <see cref="Yield"/>, <see cref="Sleep"/>, <see cref="Wait(ManualResetEventSlim, TimeSpan, string)"/>,
/// <see cref="ProtocolLock"/> and <see cref="ProtocolRwLock"/>, which park the thread in the scheduler instead.
/// </remarks>
public static class SchedulingPoint
{
    // Controlled schedulers alive in the process. Zero in every free-running process: each point is this one read.
    private static int s_controlledRuns;

    [ThreadStatic]
    private static ControlledThread? t_self;

    /// <summary>True on a thread of a controlled run (its waits and locks go through the scheduler).</summary>
    public static bool IsControlled
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_controlledRuns) != 0 && t_self is not null;
    }

    /// <summary>The calling thread's virtual clock on a controlled thread; otherwise null.</summary>
    public static VirtualTimeProvider? VirtualTime => IsControlled ? t_self!.Scheduler.Time : null;

    /// <summary>The calling thread's scheduler, if it is a controlled thread.</summary>
    public static ControlledScheduler? CurrentScheduler => IsControlled ? t_self!.Scheduler : null;

    /// <summary>A plain step: another thread may run before this one goes on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(string name)
    {
        if (Volatile.Read(ref s_controlledRuns) != 0)
        {
            At(SchedulingPointKind.Step, name);
        }
    }

    /// <summary>About to take the lock <paramref name="name"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Acquire(string name)
    {
        if (Volatile.Read(ref s_controlledRuns) != 0)
        {
            At(SchedulingPointKind.Acquire, name);
        }
    }

    /// <summary>Just released the lock <paramref name="name"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Release(string name)
    {
        if (Volatile.Read(ref s_controlledRuns) != 0)
        {
            At(SchedulingPointKind.Release, name);
        }
    }

    /// <summary>An atomic on protocol state (<c>mmu_invalidate_seq++</c>, a PTE compare-exchange, a refcount drop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Atomic(string name)
    {
        if (Volatile.Read(ref s_controlledRuns) != 0)
        {
            At(SchedulingPointKind.Atomic, name);
        }
    }

    /// <summary>
    /// A named protocol window: between <c>get_user_pages</c> and the MMU lock, inside a notifier section, inside a
    /// lockless walk. Where the kernel can be preempted or another CPU can act, the scheduler may run another thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Window(string name)
    {
        if (Volatile.Read(ref s_controlledRuns) != 0)
        {
            At(SchedulingPointKind.Window, name);
        }
    }

    /// <summary>
    /// One turn of a spin-wait loop: free-running, <c>spin.SpinOnce(sleep1Threshold)</c>; controlled, the thread
    /// parks until another thread took a step (so a spinner never runs twice without anybody else moving).
    /// </summary>
    public static void SpinOnce(ref SpinWait spin, string reason, int sleep1Threshold = 20)
    {
        if (IsControlled)
        {
            WaitControlled(SchedulingPointKind.Spin, reason, null, long.MaxValue);
            return;
        }

        spin.SpinOnce(sleep1Threshold);
    }

    /// <summary><c>Thread.Yield</c> (<c>cond_resched</c>): controlled, a spin turn.</summary>
    public static void Yield(string reason)
    {
        if (IsControlled)
        {
            WaitControlled(SchedulingPointKind.Spin, reason, null, long.MaxValue);
            return;
        }

        Thread.Yield();
    }

    /// <summary><c>Thread.Sleep</c>: controlled, a sleep in virtual time.</summary>
    public static void Sleep(TimeSpan delay, string reason)
    {
        if (IsControlled)
        {
            var self = t_self!;
            WaitControlled(SchedulingPointKind.Sleep, reason, static () => false, self.Scheduler.Time.Ticks + Math.Max(0, delay.Ticks));
            return;
        }

        Thread.Sleep(delay);
    }

    /// <summary>
    /// This thread spent <paramref name="time"/> computing (a guest running its accesses): free-running, nothing;
    /// controlled, virtual time moves on for it, and the others get their turns meanwhile.
    /// </summary>
    public static void Consume(TimeSpan time, string reason)
    {
        if (IsControlled)
        {
            Sleep(time, reason);
        }
    }

    /// <summary>
    /// Controlled only: parks the calling thread until <paramref name="ready"/> holds or <paramref name="timeout"/>
    /// of virtual time passed; true if it holds. The condition is evaluated by whichever thread holds the turn.
    /// </summary>
    public static bool WaitUntil(Func<bool> ready, TimeSpan timeout, string reason)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!IsControlled)
        {
            throw new InvalidOperationException("WaitUntil is for controlled threads; free-running code waits on its own primitive");
        }

        var scheduler = t_self!.Scheduler;
        var wakeAt = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : scheduler.Time.Ticks + Math.Max(0, timeout.Ticks);
        while (!ready())
        {
            if (scheduler.Time.Ticks >= wakeAt)
            {
                return false;
            }

            if (scheduler.Abandoned)
            {
                Thread.Yield();
                continue;
            }

            WaitControlled(SchedulingPointKind.Wait, reason, ready, wakeAt);
        }

        return true;
    }

    /// <summary><c>ev.Wait(timeout)</c>; controlled, a wait in virtual time. True if the event is set.</summary>
    public static bool Wait(ManualResetEventSlim ev, TimeSpan timeout, string reason)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return IsControlled ? WaitUntil(() => ev.IsSet, timeout, reason) : ev.Wait(timeout);
    }

    /// <summary><c>semaphore.Wait()</c> (a sleeping mutex's <c>mutex_lock</c>); controlled, parks until it can be taken.</summary>
    public static void Wait(SemaphoreSlim semaphore, string reason)
    {
        ArgumentNullException.ThrowIfNull(semaphore);
        if (!IsControlled)
        {
            semaphore.Wait();
            return;
        }

        At(SchedulingPointKind.Acquire, reason);
        while (!semaphore.Wait(0))
        {
            WaitUntil(() => semaphore.CurrentCount > 0, Timeout.InfiniteTimeSpan, reason);
        }
    }

    /// <summary>
    /// A background thread named <paramref name="name"/> running <paramref name="body"/>. Created on a controlled
    /// thread, it belongs to the same controlled run; start it with <see cref="Start"/>.
    /// </summary>
    public static Thread CreateThread(string name, ThreadStart body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!IsControlled)
        {
            return new Thread(body) { Name = name, IsBackground = true };
        }

        var scheduler = t_self!.Scheduler;
        var controlled = scheduler.Register(name);
        var thread = new Thread(() =>
        {
            t_self = controlled;
            scheduler.Arrive(controlled);
            try
            {
                body();
            }
            finally
            {
                scheduler.Finish(controlled);
                t_self = null;
            }
        }) { Name = name, IsBackground = true };
        Threads.Add(thread, controlled);
        return thread;
    }

    /// <summary><c>thread.Start()</c>; for a controlled thread, also waits until it is parked at its first turn.</summary>
    public static void Start(Thread thread)
    {
        ArgumentNullException.ThrowIfNull(thread);
        if (IsControlled && Threads.TryGetValue(thread, out var controlled) && controlled.State == ControlledThreadState.NotStarted)
        {
            t_self!.Scheduler.Start(t_self, controlled, thread);
            return;
        }

        thread.Start();
    }

    /// <summary><c>thread.Join()</c>; controlled, parks until the thread finished.</summary>
    public static void Join(Thread thread)
    {
        ArgumentNullException.ThrowIfNull(thread);
        if (IsControlled)
        {
            var controlled = Threads.TryGetValue(thread, out var t) ? t : null;
            WaitUntil(() => controlled is null ? !thread.IsAlive : controlled.IsFinished || controlled.State == ControlledThreadState.NotStarted,
                Timeout.InfiniteTimeSpan, "join");
        }

        thread.Join();
    }

    // Controlled threads by their Thread: Start finds the one to register, Join asks whether it finished (a decision
    // made under the turn, not by the OS retiring the thread).
    private static ConditionalWeakTable<Thread, ControlledThread> Threads { get; } = [];


    internal static void Attach(ControlledThread? self) => t_self = self;

    internal static void SchedulerCreated() => Interlocked.Increment(ref s_controlledRuns);

    internal static void SchedulerDisposed() => Interlocked.Decrement(ref s_controlledRuns);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void At(SchedulingPointKind kind, string name)
    {
        if (t_self is { } self)
        {
            self.Scheduler.Point(self, kind, name);
        }
    }

    private static void WaitControlled(SchedulingPointKind kind, string reason, Func<bool>? ready, long wakeAt)
    {
        var self = t_self!;
        if (self.Scheduler.Abandoned)
        {
            Thread.Yield();
            return;
        }

        self.Scheduler.Wait(self, kind, reason, ready, wakeAt);
    }
}
