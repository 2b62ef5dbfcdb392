using System.Diagnostics;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// The VMAs linked to one rmap owner, keyed by the page interval [<c>vm_pgoff</c>, <c>vm_pgoff</c> + pages) they map:
/// an anon_vma's chain of VMAs (<c>anon_vma-&gt;rb_root</c>) or a file's <c>i_mmap</c>. Guarded by the owner's rmap
/// lock (written under it for write, queried under it for read).
/// </summary>
/// <remarks>
/// Kept sorted by interval start; a point query stops at the first interval that starts after the index. The kernel
/// uses an augmented red-black tree (<c>vma_interval_tree</c>) because a file such as libc is mapped by thousands of
/// VMAs; here an owner has a handful (a VMA, its split pieces, its fork children), and a sorted list answers a query
/// in a few compares with no allocation. Keys are 32-bit page indexes (the frame's <c>index</c> field), so an
/// interval never wraps past 2^32 pages (asserted at insertion).
/// </remarks>
internal sealed class VmaIntervalSet
{
    private readonly List<Vma> _vmas = [];

    public int Count => _vmas.Count;

    public bool IsEmpty => _vmas.Count == 0;

    public void Insert(Vma vma)
    {
        Debug.Assert(!_vmas.Contains(vma), "a VMA is linked to an rmap owner once");
        Debug.Assert((ulong)vma.RmapStart + vma.Pages <= 1UL << 32, "a VMA's rmap interval must not wrap past 2^32 pages");
        var i = _vmas.FindIndex(v => v.RmapStart > vma.RmapStart);
        _vmas.Insert(i < 0 ? _vmas.Count : i, vma);
    }

    public bool Remove(Vma vma) => _vmas.Remove(vma);

    public bool Contains(Vma vma) => _vmas.Contains(vma);

    /// <summary>The VMA at position <paramref name="i"/> of the sorted set (for a walk that re-enters).</summary>
    public Vma this[int i] => _vmas[i];

    /// <summary>
    /// <c>vma_interval_tree_foreach</c> for one page: the position of the next VMA, at or after <paramref name="from"/>,
    /// whose interval contains <paramref name="index"/>; -1 when there is none.
    /// </summary>
    public int NextContaining(uint index, int from)
    {
        for (var i = from; i < _vmas.Count; i++)
        {
            var vma = _vmas[i];
            if (vma.RmapStart > index)
            {
                return -1;
            }

            if (index - vma.RmapStart < vma.Pages)
            {
                return i;
            }
        }

        return -1;
    }
}
