namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// Bits of a host page-table entry, a packed <c>ulong</c>:
/// bit 0 present, 1 writable, 2 dirty, 3 accessed, 4 swap entry (not present); bits 12..51 the pfn, or for a
/// swap entry the swap slot. Zero is an empty entry (<c>pte_none</c>).
/// </summary>
public static class Pte
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;
    public const ulong Dirty = 1UL << 2;
    public const ulong Accessed = 1UL << 3;
    public const ulong Swap = 1UL << 4;
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
}
