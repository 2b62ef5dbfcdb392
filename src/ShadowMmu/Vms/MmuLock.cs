using System.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// <c>kvm-&gt;mmu_lock</c>: a spinning reader-writer lock, as x86 KVM's is. Faults hold it for read for a few hundred
/// nanoseconds; invalidations hold it for write across their zap and TLB shootdown. A waiting writer stops new
/// readers (writer preference), so a stream of faults cannot starve an invalidation. Waiters spin briefly, then
/// sleep: on an oversubscribed host the holder (or the vCPU a flushing holder waits for) needs the core, and on
/// Linux a yield does not hand it over.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Debug-only ownership tracking lives as long as the VM; its ThreadLocal holds no unmanaged resource.")]
internal sealed class MmuLock
{
    private const int WriterHeld = 1 << 30;
    private const int WriterWaiting = 1 << 29;
    private const int ReaderMask = WriterWaiting - 1;

    // Serializes writers among themselves (only one sets WriterWaiting or WriterHeld at a time).
    private readonly ProtocolLock _writers = new("mmu_lock writers");

    // Reader count in the low bits, plus the writer bits above.
    private int _state;

#if DEBUG
    // Who holds the lock, for lockdep-style asserts: the writer's managed thread id (0 when none) and each thread's
    // read depth. Debug builds only; Release pays nothing.
    private readonly ThreadLocal<int> _readDepth = new();
    private int _writerThread;
#endif

    /// <summary>
    /// <c>lockdep_assert_held_write</c>: true if the calling thread holds the lock for write. Always true in Release
    /// builds, where ownership is not tracked; use it only inside <see cref="Debug.Assert(bool, string)"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Holder tracking is instance state in Debug builds only.")]
    public bool IsHeldForWrite
    {
        get
        {
#if DEBUG
            return Volatile.Read(ref _writerThread) == Environment.CurrentManagedThreadId;
#else
            return true;
#endif
        }
    }

    /// <summary>
    /// <c>lockdep_assert_held</c>: true if the calling thread holds the lock for read or for write. Always true in
    /// Release builds; use it only inside <see cref="Debug.Assert(bool, string)"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Holder tracking is instance state in Debug builds only.")]
    public bool IsHeld
    {
        get
        {
#if DEBUG
            return IsHeldForWrite || _readDepth.Value > 0;
#else
            return true;
#endif
        }
    }

    public void EnterRead()
    {
        SchedulingPoint.Acquire("read_lock(mmu_lock)");
        var spin = new SpinWait();
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if ((state & (WriterHeld | WriterWaiting)) == 0 && Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                TrackRead(+1);
                return;
            }

            // Named wait: a writer holds or wants the lock.
            SchedulingPoint.SpinOnce(ref spin, "read_lock(mmu_lock)");
        }
    }

    public void ExitRead()
    {
        TrackRead(-1);
        Interlocked.Decrement(ref _state);
        SchedulingPoint.Release("read_unlock(mmu_lock)");
    }

    public void EnterWrite()
    {
        SchedulingPoint.Acquire("write_lock(mmu_lock)");
        _writers.Enter();
        Interlocked.Or(ref _state, WriterWaiting);
        var spin = new SpinWait();
        // Named wait: readers already inside drain; new ones are held off by WriterWaiting.
        while (Interlocked.CompareExchange(ref _state, WriterHeld, WriterWaiting) != WriterWaiting)
        {
            SchedulingPoint.SpinOnce(ref spin, "write_lock(mmu_lock) drain readers");
        }

        TrackWriter(Environment.CurrentManagedThreadId);
    }

    /// <summary>Takes the lock for write only if nobody holds or waits for it (the non-blockable path).</summary>
    public bool TryEnterWrite()
    {
        if (!_writers.TryEnter())
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _state, WriterHeld, 0) == 0)
        {
            TrackWriter(Environment.CurrentManagedThreadId);
            return true;
        }

        _writers.Exit();
        return false;
    }

    public void ExitWrite()
    {
        Debug.Assert(IsHeldForWrite, "only the thread that took the MMU lock for write releases it");
        TrackWriter(0);
        Volatile.Write(ref _state, 0);
        _writers.Exit();
        SchedulingPoint.Release("write_unlock(mmu_lock)");
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Holder tracking is instance state in Debug builds only.")]
    [Conditional("DEBUG")]
    private void TrackRead(int delta)
    {
#if DEBUG
        _readDepth.Value += delta;
        Debug.Assert(_readDepth.Value >= 0, "a thread released the MMU read lock it did not hold");
#endif
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Holder tracking is instance state in Debug builds only.")]
    [Conditional("DEBUG")]
    private void TrackWriter(int thread)
    {
#if DEBUG
        Volatile.Write(ref _writerThread, thread);
#endif
    }
}
