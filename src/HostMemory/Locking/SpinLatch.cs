using System.Diagnostics.CodeAnalysis;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Locking;

/// <summary>
/// A test-and-set spinlock, as the kernel's <c>spinlock_t</c>: one compare-and-swap to take, one release store to
/// drop (about half the cost of <see cref="Lock"/>, which also checks for waiters on exit). Not reentrant. Hold it for
/// a few memory operations only, never across a call that may block or call back.
/// </summary>
/// <remarks>
/// A mutable struct: keep it in a non-readonly field and call <see cref="Enter"/> on the field itself. A copy is a
/// different lock.
/// </remarks>
public struct SpinLatch
{
    private int _held;

    /// <summary>True while some thread holds the latch.</summary>
    public readonly bool IsHeld => Volatile.Read(in _held) != 0;

    /// <summary>Takes the latch, spinning (then yielding, then sleeping) while another thread holds it.</summary>
    [UnscopedRef]
    public SpinLatchScope Enter()
    {
        SchedulingPoint.Acquire("spin_lock");
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            EnterContended(ref _held);
        }

        return new SpinLatchScope(ref _held);
    }

    private static void EnterContended(ref int held)
    {
        var spin = new SpinWait();
        do
        {
            // Named wait: the holder runs a handful of loads and stores; if it was preempted, SpinWait yields the core.
            SchedulingPoint.SpinOnce(ref spin, "spin_lock");
        }
        while (Volatile.Read(ref held) != 0 || Interlocked.CompareExchange(ref held, 1, 0) != 0);
    }
}

/// <summary>A held <see cref="SpinLatch"/>; disposing it releases the latch.</summary>
public readonly ref struct SpinLatchScope
{
    private readonly ref int _held;

    internal SpinLatchScope(ref int held) => _held = ref held;

    public void Dispose()
    {
        Volatile.Write(ref _held, 0);
        SchedulingPoint.Release("spin_unlock");
    }
}
