using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Locking;

/// <summary>
/// A reader-writer semaphore, as the kernel's <c>rw_semaphore</c> behind <c>anon_vma-&gt;rwsem</c> and
/// <c>i_mmap_rwsem</c>: readers share it, a writer excludes everyone, waiting writers hold back new readers (the
/// kernel's handoff keeps writers from starving the same way). Not reentrant: a thread that already holds it must not
/// take it again, for read or for write (the kernel forbids recursive <c>down_read</c> too).
/// </summary>
/// <remarks>
/// <para>
/// Written here rather than using <see cref="ReaderWriterLockSlim"/> because every rmap walk takes one of these per
/// page: an uncontended read acquire and release is one compare-and-swap and one atomic add, where
/// <see cref="ReaderWriterLockSlim"/> also takes an internal spin lock and looks up per-thread state on each call.
/// Waits spin briefly and then sleep, like <see cref="SpinLatch"/>, so oversubscribed threads make progress.
/// </para>
/// <para>
/// The writer's thread is always recorded (the kernel's <c>sem-&gt;owner</c>); which threads hold it for read is
/// recorded in Debug builds only, for <see cref="IsReadLockHeld"/> in assertions (lockdep's role).
/// </para>
/// </remarks>
public sealed class RwSemaphore
{
    // >= 0: that many readers; WriterHeld: one writer.
    private const int WriterHeld = -1;

    private int _count;
    private int _writersWaiting;
    private int _writerThread;

#if DEBUG
    [ThreadStatic]
    private static List<RwSemaphore>? t_readHeld;
#endif

    /// <summary>True if the calling thread holds the semaphore for write.</summary>
    public bool IsWriteLockHeld =>
        Volatile.Read(ref _count) == WriterHeld && Volatile.Read(ref _writerThread) == Environment.CurrentManagedThreadId;

    /// <summary>
    /// True if the calling thread holds the semaphore for read. Exact in Debug builds; in Release builds only "some
    /// thread holds it for read". For assertions.
    /// </summary>
    public bool IsReadLockHeld =>
#if DEBUG
        t_readHeld?.Contains(this) == true;
#else
        Volatile.Read(ref _count) > 0;
#endif

    /// <summary><c>down_read</c>.</summary>
    public void EnterReadLock()
    {
        SchedulingPoint.Acquire("down_read");
        if (!TryEnterReadOnce())
        {
            var spin = new SpinWait();
            do
            {
                // Named wait: a writer holds or waits for the semaphore; it holds it for a VMA change or a table free.
                SchedulingPoint.SpinOnce(ref spin, "down_read");
            }
            while (!TryEnterReadOnce());
        }

        NoteRead(entered: true);
    }

    /// <summary><c>down_read_trylock</c>; the timeout is accepted for the <see cref="ReaderWriterLockSlim"/> shape and must be 0.</summary>
    public bool TryEnterReadLock(int millisecondsTimeout)
    {
        Debug.Assert(millisecondsTimeout == 0, "down_read_trylock never waits");
        if (!TryEnterReadOnce())
        {
            return false;
        }

        NoteRead(entered: true);
        return true;
    }

    /// <summary><c>up_read</c>.</summary>
    public void ExitReadLock()
    {
        NoteRead(entered: false);
        var after = Interlocked.Decrement(ref _count);
        Debug.Assert(after >= 0, "up_read: the semaphore was held for read");
        SchedulingPoint.Release("up_read");
    }

    /// <summary><c>down_write</c>.</summary>
    public void EnterWriteLock()
    {
        Debug.Assert(!IsWriteLockHeld && !IsReadLockHeld, "down_write: the semaphore is not reentrant");
        SchedulingPoint.Acquire("down_write");
        if (Interlocked.CompareExchange(ref _count, WriterHeld, 0) != 0)
        {
            Interlocked.Increment(ref _writersWaiting);
            var spin = new SpinWait();
            do
            {
                // Named wait: readers (rmap walkers) or another writer hold the semaphore.
                SchedulingPoint.SpinOnce(ref spin, "down_write");
            }
            while (Volatile.Read(ref _count) != 0 || Interlocked.CompareExchange(ref _count, WriterHeld, 0) != 0);

            Interlocked.Decrement(ref _writersWaiting);
        }

        Volatile.Write(ref _writerThread, Environment.CurrentManagedThreadId);
    }

    /// <summary><c>down_write_trylock</c>.</summary>
    public bool TryEnterWriteLock()
    {
        Debug.Assert(!IsWriteLockHeld && !IsReadLockHeld, "down_write_trylock: the semaphore is not reentrant");
        if (Interlocked.CompareExchange(ref _count, WriterHeld, 0) != 0)
        {
            return false;
        }

        Volatile.Write(ref _writerThread, Environment.CurrentManagedThreadId);
        return true;
    }

    /// <summary><c>up_write</c>.</summary>
    public void ExitWriteLock()
    {
        Debug.Assert(IsWriteLockHeld, "up_write: the calling thread holds the semaphore for write");
        Volatile.Write(ref _writerThread, 0);
        Volatile.Write(ref _count, 0);
        SchedulingPoint.Release("up_write");
    }

    private bool TryEnterReadOnce()
    {
        while (true)
        {
            var count = Volatile.Read(ref _count);
            // A waiting writer holds back new readers; a reader already inside is not affected (it is not reentrant).
            if (count < 0 || Volatile.Read(ref _writersWaiting) != 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _count, count + 1, count) == count)
            {
                return true;
            }

            // Another reader came or went between the read and the swap: not contention with a writer, try again.
        }
    }

    [Conditional("DEBUG")]
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "uses this in Debug builds")]
    private void NoteRead(bool entered)
    {
#if DEBUG
        var held = t_readHeld ??= [];
        if (entered)
        {
            Debug.Assert(!held.Contains(this) && !IsWriteLockHeld, "down_read: the semaphore is not reentrant");
            held.Add(this);
        }
        else
        {
            Debug.Assert(held.Remove(this), "up_read: the calling thread holds the semaphore for read");
        }
#endif
    }
}
