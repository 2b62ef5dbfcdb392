namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// Bits of a host page-table entry, a packed <c>ulong</c>:
/// bit 0 present, 1 writable, 2 dirty, 3 accessed, 4 swap entry (not present), 5 migration entry (not present),
/// 6 huge (a PMD leaf, <see cref="PteTable.Pmd"/>: 2 MiB from the pfn on); bits 12..51 the pfn, or for a swap entry
/// the swap slot. Zero is an empty entry (<c>pte_none</c>).
/// </summary>
/// <remarks>
/// A migration entry stands in for a page that reclaim or migration is moving: it keeps the pfn and the old
/// writable/dirty/accessed bits, is not present, and a fault on it waits and walks again
/// (<c>migration_entry_wait</c>).
/// </remarks>
public static class Pte
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;
    public const ulong Dirty = 1UL << 2;
    public const ulong Accessed = 1UL << 3;
    public const ulong Swap = 1UL << 4;
    public const ulong Migration = 1UL << 5;
    public const ulong Huge = 1UL << 6;
    public const int FrameShift = 12;
    public const ulong FrameMask = ((1UL << 40) - 1) << FrameShift;

    public static bool IsNone(ulong pte) => pte == 0;

    public static bool IsPresent(ulong pte) => (pte & Present) != 0;

    public static bool IsWritable(ulong pte) => (pte & Writable) != 0;

    public static bool IsSwap(ulong pte) => (pte & Swap) != 0;

    public static Pfn PfnOf(ulong pte) => new((int)((pte & FrameMask) >> FrameShift));

    public static int SwapSlotOf(ulong pte) => (int)((pte & FrameMask) >> FrameShift);

    public static ulong Make(Pfn pfn, ulong bits) => ((ulong)pfn.Value << FrameShift) | Present | bits;

    public static ulong MakeSwap(int slot) => ((ulong)slot << FrameShift) | Swap;

    public static bool IsMigration(ulong pte) => (pte & Migration) != 0;

    /// <summary>True for a PMD leaf (<c>pmd_trans_huge</c>), present or not.</summary>
    public static bool IsHuge(ulong entry) => (entry & Huge) != 0;

    /// <summary>
    /// The 4 KiB entry a present PMD leaf <paramref name="pmd"/> stands for at <paramref name="index"/> of its 2 MiB: the
    /// subpage's pfn with the leaf's bits, what <c>__split_huge_pmd_locked</c> writes there.
    /// </summary>
    public static ulong SubpageOf(ulong pmd, int index) => (pmd & ~Huge) + ((ulong)index << FrameShift);

    /// <summary>A migration entry for the present <paramref name="pte"/>: same pfn and bits, not present.</summary>
    public static ulong MakeMigration(ulong pte) => (pte & ~Present) | Migration;
}
