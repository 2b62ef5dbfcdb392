using Hypervisor.HostMemory;

namespace Hypervisor.ShadowMmu.Tables;

/// <summary>
/// Bits of a shadow page-table entry (a TDP leaf SPTE), a packed <c>ulong</c>: bit 0 present, 1 writable,
/// 2 accessed, 3 dirty, 4 host-writable (the host page was writable when mapped), 5 huge (a 2 MiB leaf,
/// <see cref="ShadowPageTable.Leaf.Huge"/>, whose pfn is the first of 512); bits 12..51 the host pfn.
/// </summary>
public static class Spte
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;
    public const ulong Accessed = 1UL << 2;
    public const ulong Dirty = 1UL << 3;
    public const ulong HostWritable = 1UL << 4;
    public const ulong Huge = 1UL << 5;
    public const int FrameShift = 12;
    public const ulong FrameMask = ((1UL << 40) - 1) << FrameShift;

    public static bool IsPresent(ulong spte) => (spte & Present) != 0;

    public static bool IsWritable(ulong spte) => (spte & Writable) != 0;

    public static Pfn PfnOf(ulong spte) => new((int)((spte & FrameMask) >> FrameShift));

    /// <summary>The 4 KiB translation a 2 MiB SPTE <paramref name="huge"/> gives gfn offset <paramref name="index"/> (Huge cleared).</summary>
    public static ulong SubpageOf(ulong huge, int index) => (huge & ~Huge) + ((ulong)index << FrameShift);

    public static ulong Make(Pfn pfn, ulong bits) => ((ulong)(uint)pfn.Value << FrameShift) | Present | bits;
}
