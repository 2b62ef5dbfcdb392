using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Swap slots written during one reclaim pass. A page mapped by several PTEs (shared after fork) is stored once:
/// its later mappings take another use of the same slot (<c>swap_duplicate</c>) instead of a new one.
/// </summary>
/// <remarks>
/// The table holds one use of each slot it remembers, so a slot cannot be freed and refilled while the pass may
/// still hand it out. A slot is reused only if it still holds the page's content: two PTEs whose pages have the same
/// content may share a slot even if the pfn was recycled in between, because a slot is nothing but content.
/// </remarks>
internal sealed class SwapOutBatch(SwapDevice swap) : IDisposable
{
    private Dictionary<int, int>? _sharedSlots; // pfn -> slot

    /// <summary>The device filled up during this pass.</summary>
    public bool Full { get; private set; }

    /// <summary>
    /// A slot holding <paramref name="content"/> for one more swap PTE of <paramref name="pfn"/>: the slot this pass
    /// already stored the page in, or a new one. <paramref name="moreMappings"/> says other PTEs still map the page,
    /// so the slot is remembered for them.
    /// </summary>
    public bool TryStore(Pfn pfn, ulong content, bool moreMappings, out int slot)
    {
        if (_sharedSlots is not null && _sharedSlots.TryGetValue(pfn.Value, out slot) && swap.Load(slot) == content)
        {
            swap.Duplicate(slot);
            if (!moreMappings)
            {
                _sharedSlots.Remove(pfn.Value);
                swap.Free(slot); // the table's use: no other mapping will ask for it
            }

            return true;
        }

        if (!swap.TryStore(content, out slot))
        {
            Full = true;
            return false;
        }

        if (moreMappings)
        {
            _sharedSlots ??= [];
            if (_sharedSlots.TryGetValue(pfn.Value, out var previous))
            {
                swap.Free(previous);
            }

            swap.Duplicate(slot); // the table's own use
            _sharedSlots[pfn.Value] = slot;
        }

        return true;
    }

    public void Dispose()
    {
        if (_sharedSlots is null)
        {
            return;
        }

        foreach (var slot in _sharedSlots.Values)
        {
            swap.Free(slot);
        }

        _sharedSlots = null;
    }
}
