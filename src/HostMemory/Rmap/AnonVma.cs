using System.Diagnostics;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Locking;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// <c>struct anon_vma</c>: the reverse map of anonymous pages. Every private anonymous page points at the anon_vma of
/// the VMA it was created in; the anon_vma links every VMA that may map it: that VMA, its split pieces, and the VMAs of
/// every process forked from it (<c>anon_vma_fork</c> links a child VMA into all of its parent's anon_vmas before any
/// PTE is copied). A fork family shares one <see cref="Root"/>, whose lock guards the whole family.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The rwsem lives exactly as long as the anon_vma family.")]
public sealed class AnonVma
{
    // The family's rw_semaphore; only the root's is used (anon_vma_lock_read/write lock anon_vma->root->rwsem).
    private readonly RwSemaphore? _rwsem;
    private readonly RmapRegistry _registry;

    internal AnonVma(RmapRegistry registry, AnonVma? parent)
    {
        _registry = registry;
        Parent = parent;
        Root = parent?.Root ?? this;
        if (parent is null)
        {
            _rwsem = new RwSemaphore();
        }

        Id = registry.Register(this);
    }

    /// <summary>The id frames store in their mapping field.</summary>
    public ushort Id { get; }

    /// <summary>The anon_vma of the process this family was forked from first.</summary>
    public AnonVma Root { get; }

    /// <summary>The anon_vma of the parent VMA (null for a root).</summary>
    public AnonVma? Parent { get; }

    /// <summary>True once the last VMA was unlinked (the anon_vma is freed; its id may name another owner).</summary>
    public bool IsFreed { get; private set; }

    /// <summary>The root's lock: read for rmap walks, write for linking and unlinking VMAs and for VMA boundary changes.</summary>
    internal RwSemaphore Lock => Root._rwsem!;

    /// <summary>The VMAs linked to this anon_vma (its anon_vma_chains). Guarded by <see cref="Lock"/>.</summary>
    internal VmaIntervalSet Vmas { get; } = new();

    /// <summary>
    /// <c>anon_vma_chain_link</c>: links <paramref name="vma"/> to this anon_vma. Caller holds <see cref="Lock"/> for write.
    /// </summary>
    internal void Link(Vma vma)
    {
        Debug.Assert(Lock.IsWriteLockHeld, "anon_vma_chain_link: caller holds the root anon_vma lock for write");
        Debug.Assert(!IsFreed, "a VMA is never linked to a freed anon_vma");
        Vmas.Insert(vma);
        vma.Chain.Add(this);
    }

    /// <summary>
    /// Unlinks <paramref name="vma"/> (<c>unlink_anon_vmas</c>, one chain entry); the last unlink frees the anon_vma.
    /// Caller holds <see cref="Lock"/> for write.
    /// </summary>
    internal void Unlink(Vma vma)
    {
        Debug.Assert(Lock.IsWriteLockHeld, "unlink_anon_vmas: caller holds the root anon_vma lock for write");
        Vmas.Remove(vma);
        if (Vmas.IsEmpty && !IsFreed)
        {
            IsFreed = true;
            _registry.Release(Id, this);
        }
    }

    public override string ToString() => $"anon_vma {Id} (root {Root.Id}, {Vmas.Count} VMAs)";
}
