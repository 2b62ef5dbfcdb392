using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Locking;

/// <summary>
/// The host's condition waits that are not locks: an IPI sender waiting for every CPU to take it, an RCU barrier
/// waiting for a grace period, a free waiting for a CPU. Every such wait spins through <see cref="Until{TState}"/>, one
/// <see cref="SchedulingPoint.SpinOnce"/> per turn, so a controlled run parks the waiter until another thread moved.
/// </summary>
public static class HostWait
{
    /// <summary>Spins until <paramref name="done"/> holds. <paramref name="what"/> names the wait (for replays and traces).</summary>
    public static void Until<TState>(TState state, Func<TState, bool> done, string what)
    {
        ArgumentNullException.ThrowIfNull(done);
        var spin = new SpinWait();
        while (!done(state))
        {
            SchedulingPoint.SpinOnce(ref spin, what, sleep1Threshold: 40);
        }
    }
}
