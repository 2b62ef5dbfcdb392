namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// <c>kvm-&gt;arch.mmu_page_hash</c>: the valid shadow pages keyed by (gfn, role) (<c>kvm_mmu_find_shadow_page</c>),
/// every role of one gfn on one chain (<c>for_each_gfn_valid_sp_with_gptes</c>), plus the page numbers reverse-map
/// entries use. Caller holds the MMU write lock for every change; lookups need at least the read lock.
/// </summary>
public sealed class ShadowPageHash
{
    private readonly Dictionary<ulong, ShadowPage> _byGfn = [];
    private readonly List<ShadowPage?> _byId = [];
    private readonly Stack<int> _freeIds = new();
    private long _bytes;

    /// <summary>Valid (hashed) shadow pages.</summary>
    public int Count { get; private set; }

    /// <summary>Simulator bytes of the hashed pages.</summary>
    public long FootprintBytes => _bytes + (_byGfn.Count * 32L) + (_byId.Count * (long)IntPtr.Size);

    /// <summary>The page for (<paramref name="gfn"/>, <paramref name="role"/>), or null.</summary>
    public ShadowPage? Find(ulong gfn, ShadowRole role)
    {
        for (var sp = _byGfn.GetValueOrDefault(gfn); sp is not null; sp = sp.HashNext)
        {
            if (sp.Role == role)
            {
                return sp;
            }
        }

        return null;
    }

    /// <summary>True if any valid page shadows the guest table at <paramref name="gfn"/>.</summary>
    public bool Shadows(ulong gfn) => _byGfn.ContainsKey(gfn);

    /// <summary>Every valid page shadowing <paramref name="gfn"/>, whatever its role (a copy: callers zap while iterating).</summary>
    public List<ShadowPage> OfGfn(ulong gfn)
    {
        var pages = new List<ShadowPage>(2);
        for (var sp = _byGfn.GetValueOrDefault(gfn); sp is not null; sp = sp.HashNext)
        {
            pages.Add(sp);
        }

        return pages;
    }

    /// <summary>Every valid page (a copy).</summary>
    public List<ShadowPage> All() => [.. _byId.OfType<ShadowPage>().Where(sp => !sp.Invalid)];

    /// <summary>A new page for (gfn, role), hashed (<c>kvm_mmu_alloc_shadow_page</c>).</summary>
    public ShadowPage Create(ulong gfn, ShadowRole role)
    {
        int id;
        if (_freeIds.Count > 0)
        {
            id = _freeIds.Pop();
        }
        else
        {
            id = _byId.Count;
            _byId.Add(null);
        }

        var sp = new ShadowPage(id, gfn, role) { HashNext = _byGfn.GetValueOrDefault(gfn) };
        _byGfn[gfn] = sp;
        _byId[id] = sp;
        Count++;
        _bytes += sp.FootprintBytes;
        return sp;
    }

    /// <summary>Takes a zapped page off its hash chain (it can no longer be found by gfn and role).</summary>
    public void Unhash(ShadowPage sp)
    {
        var head = _byGfn.GetValueOrDefault(sp.Gfn);
        if (ReferenceEquals(head, sp))
        {
            if (sp.HashNext is null)
            {
                _byGfn.Remove(sp.Gfn);
            }
            else
            {
                _byGfn[sp.Gfn] = sp.HashNext;
            }
        }
        else
        {
            for (var prev = head; prev is not null; prev = prev.HashNext)
            {
                if (ReferenceEquals(prev.HashNext, sp))
                {
                    prev.HashNext = sp.HashNext;
                    break;
                }
            }
        }

        sp.HashNext = null;
        Count--;
    }

    /// <summary>Releases a freed page's number and memory (<c>kvm_mmu_free_shadow_page</c>).</summary>
    public void Release(ShadowPage sp)
    {
        if (ReferenceEquals(_byId[(int)sp.Id], sp))
        {
            _byId[(int)sp.Id] = null;
            _freeIds.Push((int)sp.Id);
            _bytes -= sp.FootprintBytes;
        }
    }

    /// <summary>The page numbered <paramref name="id"/> (live or zapped but not yet released).</summary>
    public ShadowPage Get(long id) => _byId[(int)id] ?? throw new InvalidOperationException($"no shadow page #{id}");
}
