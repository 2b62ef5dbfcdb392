namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// A sleeping reader-writer lock of the protocol (<c>mmap_lock</c>, <c>i_mmap_rwsem</c>, an anon_vma's rwsem): a
/// <see cref="ReaderWriterLockSlim"/> with the same members, whose acquires and releases are scheduling points on a
/// controlled thread, where a contended acquire parks in the scheduler instead of the operating system.
/// </summary>
public sealed class ProtocolRwLock(string name) : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    // Controlled runs only: holders by kind (the conditions contended acquires park on).
    private int _controlledReaders;
    private bool _controlledWriter;

    /// <summary>The kernel name of the lock, as replays print it.</summary>
    public string Name { get; } = name;

    public bool IsReadLockHeld => _lock.IsReadLockHeld;

    public bool IsWriteLockHeld => _lock.IsWriteLockHeld;

    public void EnterReadLock()
    {
        if (!SchedulingPoint.IsControlled)
        {
            _lock.EnterReadLock();
            return;
        }

        SchedulingPoint.Acquire(Name);
        while (!_lock.TryEnterReadLock(0))
        {
            // Named wait: a writer holds the lock (parked in the scheduler).
            SchedulingPoint.WaitUntil(() => !Volatile.Read(ref _controlledWriter), Timeout.InfiniteTimeSpan, Name);
        }

        _controlledReaders++;
    }

    /// <summary>Takes the lock for read without waiting (<paramref name="millisecondsTimeout"/> must be 0 on a controlled thread).</summary>
    public bool TryEnterReadLock(int millisecondsTimeout)
    {
        if (!SchedulingPoint.IsControlled)
        {
            return _lock.TryEnterReadLock(millisecondsTimeout);
        }

        SchedulingPoint.Acquire(Name);
        if (!_lock.TryEnterReadLock(0))
        {
            return false;
        }

        _controlledReaders++;
        return true;
    }

    public void ExitReadLock()
    {
        if (!SchedulingPoint.IsControlled)
        {
            _lock.ExitReadLock();
            return;
        }

        _controlledReaders--;
        _lock.ExitReadLock();
        SchedulingPoint.Release(Name);
    }

    public void EnterWriteLock()
    {
        if (!SchedulingPoint.IsControlled)
        {
            _lock.EnterWriteLock();
            return;
        }

        SchedulingPoint.Acquire(Name);
        while (!_lock.TryEnterWriteLock(0))
        {
            // Named wait: readers or a writer hold the lock (parked in the scheduler).
            SchedulingPoint.WaitUntil(() => !Volatile.Read(ref _controlledWriter) && Volatile.Read(ref _controlledReaders) == 0,
                Timeout.InfiniteTimeSpan, Name);
        }

        _controlledWriter = true;
    }

    /// <summary>Takes the lock for write without waiting (<paramref name="millisecondsTimeout"/> must be 0 on a controlled thread).</summary>
    public bool TryEnterWriteLock(int millisecondsTimeout)
    {
        if (!SchedulingPoint.IsControlled)
        {
            return _lock.TryEnterWriteLock(millisecondsTimeout);
        }

        SchedulingPoint.Acquire(Name);
        if (!_lock.TryEnterWriteLock(0))
        {
            return false;
        }

        _controlledWriter = true;
        return true;
    }

    public void ExitWriteLock()
    {
        if (!SchedulingPoint.IsControlled)
        {
            _lock.ExitWriteLock();
            return;
        }

        _controlledWriter = false;
        _lock.ExitWriteLock();
        SchedulingPoint.Release(Name);
    }

    public void Dispose() => _lock.Dispose();
}
