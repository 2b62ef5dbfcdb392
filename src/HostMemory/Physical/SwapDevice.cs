using Hypervisor.HostMemory.Scheduling;
namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// A swap device: slots holding the content of swapped-out pages, each with a use count (<c>swap_map</c>) of the
/// page-table entries that refer to it. Slot numbers are what a swap PTE stores.
/// </summary>
public sealed class SwapDevice
{
    private const int NoSlot = -1;

    private readonly ulong[] _content;
    private readonly int[] _useCount;

    // Guards the free list (links kept in _content of free slots), _highWater and _used.
    private readonly ProtocolLock _lock = new("swap_lock");
    private int _freeHead = NoSlot;
    private int _highWater;
    private int _used;

    public SwapDevice(long slots)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slots);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, int.MaxValue);
        _content = new ulong[slots];
        _useCount = new int[slots];
    }

    public int Capacity => _content.Length;

    public int UsedSlots => Volatile.Read(ref _used);

    /// <summary>Writes a page's content to a new slot with one user. False when the device is full.</summary>
    public bool TryStore(ulong content, out int slot)
    {
        using (_lock.EnterScope())
        {
            if (_freeHead != NoSlot)
            {
                slot = _freeHead;
                _freeHead = (int)(long)_content[slot];
            }
            else if (_highWater < _content.Length)
            {
                slot = _highWater++;
            }
            else
            {
                slot = NoSlot;
                return false;
            }

            _used++;
            _content[slot] = content;
            _useCount[slot] = 1;
            return true;
        }
    }

    public ulong Load(int slot) => Volatile.Read(ref _content[slot]);

    /// <summary><c>swap_writepage</c>: writes a page's content to a slot it already holds (a synchronous device).</summary>
    public void Store(int slot, ulong content) => Volatile.Write(ref _content[slot], content);

    public int UseCount(int slot) => Volatile.Read(ref _useCount[slot]);

    /// <summary><c>swap_duplicate</c>: one more PTE refers to the slot (fork).</summary>
    public void Duplicate(int slot) => Interlocked.Increment(ref _useCount[slot]);

    /// <summary><c>swap_free</c>: one PTE less; the slot is released with its last user.</summary>
    public void Free(int slot)
    {
        if (Interlocked.Decrement(ref _useCount[slot]) != 0)
        {
            return;
        }

        using (_lock.EnterScope())
        {
            _content[slot] = unchecked((ulong)(long)_freeHead);
            _freeHead = slot;
            _used--;
        }
    }
}
