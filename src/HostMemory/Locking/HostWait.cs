using Hypervisor.HostMemory.Scheduling;
namespace Hypervisor.HostMemory.Locking;

/// <summary>
/// The host's condition waits that are not locks: an IPI sender waiting for every CPU to take it, an RCU barrier
/// waiting for a grace period, a page-table free waiting for lockless walkers to leave. Every such wait spins through
/// <see cref="Until{TState}"/>, so a scheduler that wants to interleave threads deterministically has one place to
/// hook (<see cref="Pause"/>).
/// </summary>
public static class HostWait
{
    /// <summary>
    /// Called once per spin of every wait, on the waiting thread, with what it waits for. Null (the default) spins with
    /// <see cref="SpinWait"/>: a few busy iterations, then yields, then short sleeps. A deterministic scheduler sets it
    /// to switch to another thread instead.
    /// </summary>
    public static Action<string>? Pause { get; set; }

    /// <summary>Spins until <paramref name="done"/> holds. <paramref name="what"/> names the wait (for traces and the hook).</summary>
    public static void Until<TState>(TState state, Func<TState, bool> done, string what)
    {
        ArgumentNullException.ThrowIfNull(done);
        var spin = new SpinWait();
        while (!done(state))
        {
            if (Pause is { } pause)
            {
                pause(what);
            }
            else
            {
                SchedulingPoint.SpinOnce(ref spin, what, 40);
            }
        }
    }
}
