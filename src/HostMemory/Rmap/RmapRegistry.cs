using System.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// The owners a frame's <c>mapping</c> field can point at (anon_vmas, files' address_spaces), by a 16-bit id, so the
/// frame table stays compact (<see cref="Physical.PhysicalMemory.RmapMapping"/>). Id 0 is "no owner".
/// </summary>
/// <remarks>
/// Ids are recycled when their owner is freed, as the kernel's anon_vmas are recycled by a
/// <c>SLAB_TYPESAFE_BY_RCU</c> cache: a walker that read a stale id may find a new owner behind it, and must
/// recheck under the owner's lock that the frame is still mapped (which proves the owner is still the frame's).
/// </remarks>
public sealed class RmapRegistry
{
    /// <summary>How many owners can be live at once.</summary>
    public const int Capacity = ushort.MaxValue;

    // Grown by doubling under _lock; readers index whatever array they see (an id is only handed out after the
    // array that holds it was published).
    private object?[] _owners = new object?[64];

    // Guards _free and _next.
    private readonly ProtocolLock _lock = new("rmap registry lock");
    private readonly Stack<ushort> _free = new();
    private int _next = 1;

    /// <summary>Live owners.</summary>
    public int Count { get; private set; }

    /// <summary>Hands out an id for <paramref name="owner"/>.</summary>
    public ushort Register(object owner)
    {
        using (_lock.EnterScope())
        {
            ushort id;
            if (_free.Count > 0)
            {
                id = _free.Pop();
            }
            else if (_next <= Capacity)
            {
                id = (ushort)_next++;
            }
            else
            {
                throw new InvalidOperationException(
                    $"more than {Capacity} anon_vmas and files are live at once: the reverse map's 16-bit owner ids are exhausted");
            }

            if (id >= _owners.Length)
            {
                var grown = new object?[Math.Min(_owners.Length * 2, Capacity + 1)];
                Array.Copy(_owners, grown, _owners.Length);
                Volatile.Write(ref _owners, grown);
            }

            Volatile.Write(ref _owners[id], owner);
            Count++;
            return id;
        }
    }

    /// <summary>Frees <paramref name="id"/>; <paramref name="owner"/> must be what it names.</summary>
    public void Release(ushort id, object owner)
    {
        using (_lock.EnterScope())
        {
            Debug.Assert(ReferenceEquals(_owners[id], owner), "an rmap id is released by its own owner only");
            Volatile.Write(ref _owners[id], null);
            _free.Push(id);
            Count--;
        }
    }

    /// <summary>The owner registered under <paramref name="id"/> now, or null.</summary>
    public object? Lookup(ushort id)
    {
        var owners = Volatile.Read(ref _owners);
        return id < owners.Length ? Volatile.Read(ref owners[id]) : null;
    }
}
