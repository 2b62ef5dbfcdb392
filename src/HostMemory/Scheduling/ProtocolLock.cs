using System.Diagnostics;

namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// A sleeping mutex of the protocol (<c>struct mutex</c>, or a spinlock held across little work) with a wait queue
/// (<see cref="Wait(int)"/>/<see cref="PulseAll"/>, as <c>wait_event</c>/<c>wake_up_all</c>). Free-running it is a
/// monitor plus one static read; on a controlled thread its acquire and release are scheduling points, and a
/// contended acquire or a wait parks the thread in the scheduler instead of the operating system.
/// </summary>
/// <remarks>Use it in place of a <c>lock</c> statement: <c>using (_lock.EnterScope()) { ... }</c>.</remarks>
public sealed class ProtocolLock(string name)
{
    private readonly object _monitor = new();

    // Controlled runs only: true while a controlled thread holds the lock (the condition its waiters park on).
    private bool _heldControlled;

    // Bumped by PulseAll: a controlled waiter runs again once it moved.
    private int _pulses;

    /// <summary>The kernel name of the lock, as replays print it.</summary>
    public string Name { get; } = name;

    /// <summary>True if the calling thread holds the lock (<c>lockdep_is_held</c>).</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_monitor);

    /// <summary>Takes the lock; dispose the scope to release it.</summary>
    public Scope EnterScope()
    {
        Enter();
        return new Scope(this);
    }

    public void Enter()
    {
        if (SchedulingPoint.IsControlled)
        {
            EnterControlled();
            return;
        }

        Monitor.Enter(_monitor);
    }

    /// <summary>Takes the lock if nobody holds it; never waits.</summary>
    public bool TryEnter()
    {
        if (SchedulingPoint.IsControlled)
        {
            SchedulingPoint.Acquire(Name);
            if (!Monitor.TryEnter(_monitor))
            {
                return false;
            }

            _heldControlled = true;
            return true;
        }

        return Monitor.TryEnter(_monitor);
    }

    public void Exit()
    {
        Debug.Assert(IsHeldByCurrentThread, $"only the holder of {Name} releases it");
        if (SchedulingPoint.IsControlled)
        {
            _heldControlled = false;
            Monitor.Exit(_monitor);
            SchedulingPoint.Release(Name);
            return;
        }

        Monitor.Exit(_monitor);
    }

    /// <summary>
    /// Releases the lock, waits for a <see cref="PulseAll"/> (or <paramref name="timeoutMs"/>, -1 for none), and takes
    /// the lock again. Caller holds the lock. True if pulsed.
    /// </summary>
    public bool Wait(int timeoutMs = Timeout.Infinite)
    {
        Debug.Assert(IsHeldByCurrentThread, $"a wait on {Name} is made holding it");
        if (!SchedulingPoint.IsControlled)
        {
            return Monitor.Wait(_monitor, timeoutMs);
        }

        var pulses = _pulses;
        Exit();
        var pulsed = SchedulingPoint.WaitUntil(() => Volatile.Read(ref _pulses) != pulses,
            timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs), Name);
        EnterControlled();
        return pulsed;
    }

    /// <summary>Wakes every waiter (<c>wake_up_all</c>). Caller holds the lock.</summary>
    public void PulseAll()
    {
        Debug.Assert(IsHeldByCurrentThread, $"a wake-up on {Name} is made holding it");
        _pulses++;
        Monitor.PulseAll(_monitor);
    }

    private void EnterControlled()
    {
        SchedulingPoint.Acquire(Name);
        while (!Monitor.TryEnter(_monitor))
        {
            // Named wait: the holder is parked in the scheduler; run again once it released the lock.
            SchedulingPoint.WaitUntil(() => !Volatile.Read(ref _heldControlled), Timeout.InfiniteTimeSpan, Name);
        }

        _heldControlled = true;
    }

    /// <summary>A held <see cref="ProtocolLock"/>; disposing it releases the lock.</summary>
    public readonly ref struct Scope
    {
        private readonly ProtocolLock _lock;

        internal Scope(ProtocolLock held) => _lock = held;

        public void Dispose() => _lock.Exit();
    }
}
