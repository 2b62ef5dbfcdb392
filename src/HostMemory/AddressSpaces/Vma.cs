using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// A virtual memory area (<c>struct vm_area_struct</c>): [<see cref="Start"/>, <see cref="End"/>) with one
/// backing and one protection. Changed only under the owning address space's mmap write lock; its bounds and
/// page offset also under the rmap locks of its owners (<c>vma_prepare</c>), because rmap walkers read them
/// without the mmap lock.
/// </summary>
public sealed class Vma
{
    internal Vma(AddressSpace mm, Hva start, Hva end, VmaKind kind, Protection protection, FileObject? file, long filePageOffset, ulong pgOff)
    {
        Mm = mm;
        Start = start;
        End = end;
        Kind = kind;
        Protection = protection;
        File = file;
        FilePageOffset = filePageOffset;
        PgOff = pgOff;
    }

    /// <summary><c>vma-&gt;vm_mm</c>: the address space the VMA belongs to.</summary>
    public AddressSpace Mm { get; }

    /// <summary>
    /// <c>vm_pgoff</c>: the page index mapped at <see cref="Start"/>: the file page offset for file and shared
    /// mappings, the virtual page number at creation for private anonymous ones (kept across splits and fork, so a
    /// page's linear index finds it in every VMA of its anon_vma family).
    /// </summary>
    public ulong PgOff { get; internal set; }

    /// <summary>The low 32 bits of <see cref="PgOff"/>: the interval start that frames' 32-bit rmap index is compared with.</summary>
    internal uint RmapStart => (uint)PgOff;

    /// <summary><c>vma-&gt;anon_vma</c>: where new anonymous pages of this VMA are anchored; null until the first one.</summary>
    public AnonVma? AnonVma { get; internal set; }

    /// <summary><c>vma-&gt;anon_vma_chain</c>: every anon_vma this VMA is linked to (its own and its ancestors').</summary>
    internal List<AnonVma> Chain { get; } = [];

    /// <summary>
    /// <c>VM_NONLINEAR</c> (<c>remap_file_pages</c>, legacy profile only): the VMA is on the file's nonlinear list,
    /// not in <c>i_mmap</c>, so the object rmap cannot find its pages; reclaim unmaps them by cluster
    /// (<c>try_to_unmap_cluster</c>). Changed under the mmap write lock and <c>i_mmap_rwsem</c> for write.
    /// </summary>
    public bool IsNonlinear { get; internal set; }

    /// <summary><c>VM_HUGEPAGE</c>: <c>madvise(MADV_HUGEPAGE)</c> asked for huge pages here.</summary>
    public bool HugePageAdvised { get; internal set; }

    /// <summary><c>VM_NOHUGEPAGE</c>: <c>madvise(MADV_NOHUGEPAGE)</c> refused huge pages here.</summary>
    public bool NoHugePage { get; internal set; }

    /// <summary><c>vm_private_data</c> of a nonlinear VMA: the page offset where the next cluster scan starts.</summary>
    internal ulong NonlinearCursor { get; set; }

    /// <summary>True once <c>free_pgtables</c> unlinked the VMA from the reverse maps: no walker can reach it any more.</summary>
    internal bool RmapUnlinked { get; set; }

    /// <summary>The 32-bit rmap index of the page at virtual page <paramref name="vpn"/> (<c>linear_page_index</c>).</summary>
    internal uint RmapIndexOf(ulong vpn) => (uint)(PgOff + (vpn - Start.PageNumber));

    /// <summary><c>vma_address</c>: the address at which this VMA maps rmap index <paramref name="index"/>, if it does.</summary>
    internal bool TryAddressOf(uint index, out Hva hva)
    {
        var offset = index - RmapStart;
        if (offset >= Pages)
        {
            hva = default;
            return false;
        }

        hva = Start.AddPages(offset);
        return true;
    }

    public Hva Start { get; internal set; }

    public Hva End { get; internal set; }

    public VmaKind Kind { get; }

    public Protection Protection { get; internal set; }

    /// <summary>The file or shared-memory object behind the VMA; null for private anonymous memory.</summary>
    public FileObject? File { get; }

    /// <summary>File page mapped at <see cref="Start"/>.</summary>
    public long FilePageOffset { get; internal set; }

    public ulong Pages => (End.Value - Start.Value) >> Hva.PageShift;

    public bool IsShared => Kind is VmaKind.AnonymousShared or VmaKind.FileShared;

    /// <summary><c>is_cow_mapping</c>: private, so writes after fork or to page-cache pages copy.</summary>
    public bool IsCowMapping => !IsShared;

    public bool CanRead => (Protection & Protection.Read) != 0;

    public bool CanWrite => (Protection & Protection.Write) != 0;

    public bool Contains(Hva hva) => hva >= Start && hva < End;

    /// <summary>
    /// Index in <see cref="File"/> of the page mapped at virtual page <paramref name="vpn"/>. A nonlinear VMA maps
    /// each even/odd pair of file pages swapped (the layout <c>remap_file_pages</c> left, which a fault finds through
    /// <c>pte_file</c> entries in the kernel): no page sits at its linear offset, so only the cluster scan reaches it.
    /// </summary>
    public long FileIndex(ulong vpn)
    {
        var linear = FilePageOffset + (long)(vpn - Start.PageNumber);
        return IsNonlinear ? linear ^ 1 : linear;
    }

    /// <summary>A copy of [start, end) of this VMA for <paramref name="mm"/> (a split piece, or a fork child's VMA).</summary>
    internal Vma CloneRange(AddressSpace mm, Hva start, Hva end)
    {
        var pages = (start.Value - Start.Value) >> Hva.PageShift;
        return new(mm, start, end, Kind, Protection, File, FilePageOffset + (long)pages, PgOff + pages)
        {
            AnonVma = AnonVma,
            IsNonlinear = IsNonlinear,
            HugePageAdvised = HugePageAdvised,
            NoHugePage = NoHugePage,
        };
    }

    public override string ToString() => $"[{Start}, {End}) {Kind} {Protection}";
}
