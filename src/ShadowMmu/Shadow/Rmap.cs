namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// The reverse map (<c>memslot-&gt;arch.rmap[PG_LEVEL_4K]</c>, one <c>pte_list</c> per gfn): every leaf SPTE that
/// maps a gfn, whichever guest virtual page, process or role it belongs to. One SPTE is kept inline in the gfn's
/// head word, as the kernel keeps one <c>u64 *</c>; a second one moves the list to a side chain (the kernel's
/// <c>pte_list_desc</c>). Only leaf SPTEs are here. Caller holds the MMU write lock for changes, at least the read
/// lock for walks.
/// </summary>
public sealed class Rmap(ulong guestPages)
{
    private const ulong Many = ulong.MaxValue;

    private readonly ulong[] _heads = new ulong[guestPages];
    private readonly Dictionary<ulong, List<ulong>> _chains = [];
    private long _entries;

    /// <summary>Leaf SPTEs in the map.</summary>
    public long Count => _entries;

    /// <summary>Simulator bytes of the map.</summary>
    public long FootprintBytes => (_heads.Length * sizeof(ulong)) + _chains.Sum(c => 64L + (c.Value.Capacity * sizeof(ulong)));

    /// <summary><c>rmap_add</c>: record that SPTE <paramref name="index"/> of <paramref name="sp"/> maps <paramref name="gfn"/>.</summary>
    public void Add(ulong gfn, ShadowPage sp, int index)
    {
        var entry = Encode(sp, index);
        ref var head = ref _heads[gfn];
        if (head == 0)
        {
            head = entry;
        }
        else if (head == Many)
        {
            _chains[gfn].Add(entry);
        }
        else
        {
            _chains[gfn] = [head, entry];
            head = Many;
        }

        _entries++;
    }

    /// <summary><c>rmap_remove</c>: false if the SPTE was not in the gfn's list (a bookkeeping bug the caller reports).</summary>
    public bool Remove(ulong gfn, ShadowPage sp, int index)
    {
        var entry = Encode(sp, index);
        ref var head = ref _heads[gfn];
        if (head == entry)
        {
            head = 0;
        }
        else if (head == Many)
        {
            var chain = _chains[gfn];
            if (!chain.Remove(entry))
            {
                return false;
            }

            if (chain.Count == 1)
            {
                head = chain[0];
                _chains.Remove(gfn);
            }
        }
        else
        {
            return false;
        }

        _entries--;
        return true;
    }

    /// <summary>How many leaf SPTEs map <paramref name="gfn"/>.</summary>
    public int CountOf(ulong gfn) => _heads[gfn] switch
    {
        0 => 0,
        Many => _chains[gfn].Count,
        _ => 1,
    };

    /// <summary>Entry <paramref name="k"/> (0 ≤ k &lt; <see cref="CountOf"/>) of <paramref name="gfn"/>'s list, as (page number, index).</summary>
    public (long SpId, int Index) EntryAt(ulong gfn, int k)
    {
        var head = _heads[gfn];
        return Decode(head == Many ? _chains[gfn][k] : head);
    }

    private static ulong Encode(ShadowPage sp, int index) => (((ulong)sp.Id << Gpte.IndexBits) | (uint)index) + 1;

    private static (long SpId, int Index) Decode(ulong entry) =>
        ((long)((entry - 1) >> Gpte.IndexBits), (int)((entry - 1) & (Gpte.Entries - 1)));
}
