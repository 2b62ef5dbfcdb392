namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// A guest page-table entry of a 4-level x86-64 guest (<c>pt_element_t</c>), the bits the model uses: bit 0 present,
/// bit 1 writable, bits 12..47 the guest frame of the next table or of the page. User, accessed, dirty and NX are
/// not modelled (every guest mapping is a user mapping; guest A/D bits are not kept).
/// </summary>
public static class Gpte
{
    public const ulong Present = 1UL << 0;
    public const ulong Writable = 1UL << 1;
    public const int FrameShift = 12;
    public const ulong FrameMask = ((1UL << 36) - 1) << FrameShift;

    /// <summary>Levels of a guest walk: PML4 (4), PDPT (3), PD (2), PT (1).</summary>
    public const int Levels = 4;

    /// <summary>Entries in a guest page table.</summary>
    public const int Entries = 512;

    /// <summary>Bits of a guest virtual page number used as the table index at each level.</summary>
    public const int IndexBits = 9;

    public static bool IsPresent(ulong gpte) => (gpte & Present) != 0;

    public static bool IsWritable(ulong gpte) => (gpte & Writable) != 0;

    public static ulong GfnOf(ulong gpte) => (gpte & FrameMask) >> FrameShift;

    public static ulong Make(ulong gfn, bool writable) => (gfn << FrameShift) | Present | (writable ? Writable : 0);

    /// <summary>The index into the table of <paramref name="level"/> for guest virtual page <paramref name="gvpn"/> (<c>SHADOW_PT_INDEX</c>).</summary>
    public static int IndexOf(ulong gvpn, int level) => (int)((gvpn >> ((level - 1) * IndexBits)) & (Entries - 1));
}
