namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// Layout of the 64-bit state word kept per frame: reference count, map count and flags packed so that
/// each can be changed with one interlocked operation and the whole frame costs 16 bytes with its content.
/// </summary>
/// <remarks>
/// bits 0..27  reference count (<c>page_count</c>): every mapping, page-cache slot and get_user_pages
///             reference holds one.<br/>
/// bits 28..54 map count (<c>page_mapcount</c>): page-table entries that map the frame.<br/>
/// bit 55      write-watch (<see cref="WriteWatch"/>): a host section downgraded or removed a writable mapping of the
///             frame; guest stores through a secondary MMU take the checked path.<br/>
/// bits 56..63 <see cref="FrameFlags"/>.<br/>
/// A free frame keeps <see cref="FrameFlags.Free"/> and stores the next free pfn in bits 0..55.
/// </remarks>
public static class FrameState
{
    public const int MapShift = 28;
    public const int FlagShift = 56;
    public const ulong RefMask = (1UL << MapShift) - 1;
    public const int WriteWatchShift = 55;
    public const ulong MapMask = ((1UL << WriteWatchShift) - 1) & ~RefMask;

    /// <summary>
    /// Set (after the secondary MMUs were told) on every frame a range start finds mapped writable; cleared when the
    /// host maps the frame writable again. Not a page flag of the kernel: the oracle's filter for
    /// write-to-write-protected (a store through a secondary MMU after the host took write access away).
    /// </summary>
    public const ulong WriteWatch = 1UL << WriteWatchShift;
    public const ulong OneRef = 1;
    public const ulong OneMap = 1UL << MapShift;
    public const ulong FreeLinkMask = (1UL << FlagShift) - 1;

    public static int RefCount(ulong state) => (int)(state & RefMask);

    public static int MapCount(ulong state) => (int)((state & MapMask) >> MapShift);

    public static FrameFlags Flags(ulong state) => (FrameFlags)(state >> FlagShift);

    public static ulong FlagBits(FrameFlags flags) => (ulong)flags << FlagShift;

    public static ulong Make(int refCount, int mapCount, FrameFlags flags) =>
        (ulong)(uint)refCount | ((ulong)(uint)mapCount << MapShift) | FlagBits(flags);
}
