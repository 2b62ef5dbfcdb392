using Hypervisor.HostMemory.Scheduling;
namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Holds an address space's mmap lock (read or write) until disposed.</summary>
public readonly struct MmapLockScope : IDisposable
{
    private readonly ProtocolRwLock? _lock;
    private readonly bool _write;

    internal MmapLockScope(ProtocolRwLock rwLock, bool write, bool alreadyHeld = false)
    {
        _lock = rwLock;
        _write = write;
        if (alreadyHeld)
        {
            return;
        }

        if (write)
        {
            rwLock.EnterWriteLock();
        }
        else
        {
            rwLock.EnterReadLock();
        }
    }

    public void Dispose()
    {
        if (_lock is null)
        {
            return;
        }

        if (_write)
        {
            _lock.ExitWriteLock();
        }
        else
        {
            _lock.ExitReadLock();
        }
    }
}
