using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// The mmap read locks of several address spaces, taken without waiting (so any order is deadlock free) and
/// released together. Migration holds one per address space that maps the page it moves.
/// </summary>
internal sealed class ScanLocks : IDisposable
{
    private readonly List<AddressSpace> _spaces = [];
    private readonly List<MmapLockScope> _scopes = [];

    /// <summary>True if <paramref name="mm"/> is locked now (already, or by this call), and not dead.</summary>
    public bool TryAdd(AddressSpace mm)
    {
        if (_spaces.Contains(mm))
        {
            return true;
        }

        if (!mm.TryEnterScan(out var scope))
        {
            return false;
        }

        _spaces.Add(mm);
        _scopes.Add(scope);
        return !mm.IsDead;
    }

    public void Dispose()
    {
        for (var i = _scopes.Count - 1; i >= 0; i--)
        {
            _scopes[i].Dispose();
        }

        _scopes.Clear();
        _spaces.Clear();
    }
}
