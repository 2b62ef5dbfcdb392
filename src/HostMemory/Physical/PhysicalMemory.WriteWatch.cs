using System.Runtime.CompilerServices;
using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// The write-watch bit (<see cref="FrameState.WriteWatch"/>) and the store of a secondary MMU that tests it on the way.
/// </summary>
/// <remarks>
/// The bit is a filter, not a verdict: it says "a host section took write access to this frame away somewhere since
/// it was last made writable". A store that finds it set is checked against the host page table by its caller
/// (the vCPU: does the host PTE at the store's address map this frame writable now?). A store that finds it clear
/// costs what <see cref="Write"/> costs: the same load of the state word, tested against a wider mask.
/// </remarks>
public sealed partial class PhysicalMemory
{
    /// <summary>
    /// A store through a secondary MMU (a vCPU's TLB or shadow entry): <see cref="Write"/>, and true when the frame is
    /// write-watched, so the caller must check that the host still lets this address write it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool GuestWrite(Pfn pfn, ulong value, in AccessSite site)
    {
        ref var frame = ref _frames[pfn.Value];
        if ((Volatile.Read(ref frame.State) & (FrameState.FlagBits(FrameFlags.Free) | FrameState.WriteWatch)) != 0 || pfn.IsZeroPage)
        {
            return GuestWriteSlow(pfn, value, site);
        }

        Volatile.Write(ref frame.Content, value);
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool GuestWriteSlow(Pfn pfn, ulong value, in AccessSite site)
    {
        var state = StateOf(pfn);
        Write(pfn, value, site); // reports a free frame or the zero page, and then does not store
        return (state & (FrameState.FlagBits(FrameFlags.Free) | FrameState.WriteWatch)) == FrameState.WriteWatch;
    }

    /// <summary>True while <paramref name="pfn"/> is write-watched.</summary>
    public bool IsWriteWatched(Pfn pfn) => (StateOf(pfn) & (FrameState.FlagBits(FrameFlags.Free) | FrameState.WriteWatch)) == FrameState.WriteWatch;

    /// <summary>
    /// Marks a frame whose writable mapping a host section is about to downgrade or remove. Skips a free frame (its
    /// state word is a free-list link) and the zero page. The caller may hold nothing on the frame: a frame freed and
    /// reused meanwhile only costs its next guest stores the checked path.
    /// </summary>
    public void SetWriteWatch(Pfn pfn)
    {
        if (pfn.IsZeroPage || (uint)pfn.Value >= (uint)_frames.Length)
        {
            return;
        }

        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & (FrameState.FlagBits(FrameFlags.Free) | FrameState.WriteWatch)) != 0
                || Interlocked.CompareExchange(ref state, old | FrameState.WriteWatch, old) == old)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The host maps <paramref name="pfn"/> writable again (a write fault, <c>do_wp_page</c>'s reuse, a writable
    /// swap-in): stores through the secondary MMUs need no check any more. Caller holds a reference on the frame.
    /// </summary>
    public void ClearWriteWatch(Pfn pfn)
    {
        if (pfn.IsZeroPage)
        {
            return;
        }

        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & (FrameState.FlagBits(FrameFlags.Free) | FrameState.WriteWatch)) != FrameState.WriteWatch
                || Interlocked.CompareExchange(ref state, old & ~FrameState.WriteWatch, old) == old)
            {
                return;
            }
        }
    }
}
