namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// A thread under a <see cref="ControlledScheduler"/>: a real thread that runs only while it holds the turn, and
/// parks on its own semaphore otherwise. Its fields are read and written only by the thread holding the turn.
/// </summary>
internal sealed class ControlledThread : IDisposable
{
    public ControlledThread(ControlledScheduler scheduler, int id, string name)
    {
        Scheduler = scheduler;
        Id = id;
        Name = name;
    }

    public ControlledScheduler Scheduler { get; }

    /// <summary>Index in creation order; 0 is the thread that began the run.</summary>
    public int Id { get; }

    public string Name { get; }

    /// <summary>Released by the scheduler when this thread gets the turn.</summary>
    public SemaphoreSlim Turn { get; } = new(0);

    /// <summary>Set by the thread itself once it is parked at its first turn (so starting it is deterministic).</summary>
    public ManualResetEventSlim Arrived { get; } = new(false);

    public ControlledThreadState State { get; set; } = ControlledThreadState.NotStarted;

    /// <summary>While waiting: the condition that lets it run again, or null for a spin (any other thread's step).</summary>
    public Func<bool>? Ready { get; set; }

    /// <summary>While waiting without a condition: the scheduler's progress count when it began to wait.</summary>
    public long WaitStep { get; set; }

    /// <summary>While waiting: the virtual time at which it runs again regardless (long.MaxValue: none).</summary>
    public long WakeAt { get; set; } = long.MaxValue;

    /// <summary>PCT priority: higher runs first.</summary>
    public long Priority { get; set; }

    public bool IsFinished => State == ControlledThreadState.Finished;

    public void Dispose()
    {
        Turn.Dispose();
        Arrived.Dispose();
    }

    public override string ToString() => $"{Id}:{Name} ({State})";
}

internal enum ControlledThreadState
{
    NotStarted = 0,
    Runnable,
    Waiting,
    Finished,
}
