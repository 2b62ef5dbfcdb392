using Hypervisor.ShadowMmu.Tables;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// <c>struct kvm_mmu_page</c>: one shadow page table, shadowing the guest table in frame <see cref="Gfn"/> under
/// <see cref="Role"/>. 512 SPTEs; a non-leaf entry is <see cref="Spte.Present"/> with the child page in
/// <see cref="Children"/> (the hpa of <c>spt</c> in the kernel), a leaf entry maps a host frame and
/// <see cref="Gfns"/> records the guest frame it translates (<c>shadowed_translation</c>), which is what rmap removal
/// needs.
/// </summary>
/// <remarks>
/// Everything but the SPTEs' accessed/dirty bits changes under the MMU write lock. vCPUs walk <see cref="Spt"/> and
/// <see cref="Children"/> without any lock, as hardware walks shadow tables: a zap clears the parent's entry first,
/// and the page is marked <see cref="Freed"/> only after the remote TLB flush waited for every vCPU in guest mode
/// (<c>kvm_mmu_commit_zap_page</c>), so a walker that reaches a freed page proves the flush was skipped.
/// </remarks>
public sealed class ShadowPage
{
    private (ShadowPage Page, int Index) _parent;
    private List<(ShadowPage Page, int Index)>? _moreParents;

    internal ShadowPage(long id, ulong gfn, ShadowRole role)
    {
        Id = id;
        Gfn = gfn;
        Role = role;
        if (role.Level == 1)
        {
            Gfns = new uint[Gpte.Entries];
        }
        else
        {
            Children = new ShadowPage?[Gpte.Entries];
        }
    }

    /// <summary>Number used by reverse-map entries to name this page.</summary>
    public long Id { get; }

    /// <summary>The guest frame holding the guest table this page shadows.</summary>
    public ulong Gfn { get; }

    public ShadowRole Role { get; }

    public int Level => Role.Level;

    /// <summary>The SPTEs (<c>sp-&gt;spt</c>).</summary>
    public ulong[] Spt { get; } = new ulong[Gpte.Entries];

    /// <summary>Child pages of a non-leaf page, by index; null in a leaf page.</summary>
    public ShadowPage?[]? Children { get; }

    /// <summary>The gfn each leaf SPTE translates (<c>shadowed_translation</c>); null in a non-leaf page.</summary>
    public uint[]? Gfns { get; }

    /// <summary>vCPU roots using this page (<c>root_count</c>); a zapped root is freed when this drops to zero.</summary>
    public int RootCount { get; internal set; }

    /// <summary>
    /// <c>sp-&gt;unsync</c>: the guest table is no longer write-protected and its SPTEs may lag its gptes until INVLPG or
    /// a CR3 load syncs them. Only leaf pages go unsync.
    /// </summary>
    public bool Unsync { get; internal set; }

    /// <summary><c>unsync_children</c>: some page below is unsync (a bitmap in the kernel, a flag here).</summary>
    public bool UnsyncChildren { get; internal set; }

    /// <summary><c>role.invalid</c>: zapped, kept alive only by <see cref="RootCount"/>.</summary>
    public bool Invalid { get; internal set; }

    /// <summary>Set once the page is freed, after the flush; poison for lockless walkers.</summary>
    public bool Freed => Volatile.Read(ref _freed);

    private bool _freed;

    internal ShadowPage? HashNext { get; set; }

    /// <summary>The page raised its frame's write-track count (<c>account_shadowed</c>), to be dropped when it is zapped.</summary>
    internal bool Accounted { get; set; }

    internal void MarkFreed() => Volatile.Write(ref _freed, true);

    /// <summary>The parent SPTEs pointing at this page (<c>parent_ptes</c>).</summary>
    internal IEnumerable<(ShadowPage Page, int Index)> Parents
    {
        get
        {
            if (_parent.Page is not null)
            {
                yield return _parent;
            }

            if (_moreParents is not null)
            {
                foreach (var p in _moreParents)
                {
                    yield return p;
                }
            }
        }
    }

    internal bool HasParents => _parent.Page is not null || _moreParents is { Count: > 0 };

    internal void AddParent(ShadowPage parent, int index)
    {
        if (_parent.Page is null)
        {
            _parent = (parent, index);
        }
        else
        {
            (_moreParents ??= []).Add((parent, index));
        }
    }

    internal void RemoveParent(ShadowPage parent, int index)
    {
        if (ReferenceEquals(_parent.Page, parent) && _parent.Index == index)
        {
            _parent = default;
            if (_moreParents is { Count: > 0 })
            {
                _parent = _moreParents[^1];
                _moreParents.RemoveAt(_moreParents.Count - 1);
            }
        }
        else
        {
            _moreParents?.Remove((parent, index));
        }
    }

    /// <summary>Bytes of simulator memory this page takes (for the footprint figures).</summary>
    internal long FootprintBytes => 96 + 24 + (Gpte.Entries * sizeof(ulong)) + 24
        + (Gfns is null ? 0 : 24 + (Gpte.Entries * sizeof(uint))) + (Children is null ? 0 : 24 + (Gpte.Entries * IntPtr.Size));

    public override string ToString() => $"sp#{Id} gfn 0x{Gfn:x} {Role}{(Unsync ? " unsync" : "")}{(Invalid ? " invalid" : "")}";
}
