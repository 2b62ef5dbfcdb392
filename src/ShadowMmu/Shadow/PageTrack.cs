namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// Write protection of guest frames that hold shadowed guest tables. Two things per gfn, as in the kernel:
/// the write-track count (<c>gfn_write_track</c>, page_track.c), raised by every shadowed upper-level table
/// (<c>account_shadowed</c> for level &gt; 1): a guest store to such a frame is always emulated; and whether the
/// frame is write-protected at all (<c>rmap_write_protect</c> cleared W and MMU-writable on the SPTEs mapping it):
/// a frame holding only leaf tables is protected until the first guest store unsyncs them
/// (<c>mmu_try_to_unsync_pages</c>), and protected again when they are synced.
/// </summary>
/// <remarks>
/// The guest's own mapping of its table frames (the kernel's direct map) is not a shadow mapping in this model; the
/// protection bit stands for the W bit of that SPTE. Changes under the MMU write lock; the store path reads it
/// under the lock too.
/// </remarks>
public sealed class PageTrack(ulong guestPages)
{
    private const int Protected = 1 << 31;

    private readonly int[] _state = new int[guestPages];

    public long FootprintBytes => _state.Length * sizeof(int);

    /// <summary>True while a guest store to <paramref name="gfn"/> traps (<c>kvm_gfn_is_write_tracked</c> or not MMU-writable).</summary>
    public bool IsWriteProtected(ulong gfn) => (_state[gfn] & Protected) != 0;

    /// <summary>True while an upper-level table is shadowed at <paramref name="gfn"/>: stores are emulated.</summary>
    public bool IsWriteTracked(ulong gfn) => (_state[gfn] & ~Protected) != 0;

    /// <summary><c>__kvm_write_track_add_gfn</c>.</summary>
    public void AddTrack(ulong gfn) => _state[gfn]++;

    /// <summary><c>__kvm_write_track_remove_gfn</c>; false if the count would go below zero.</summary>
    public bool RemoveTrack(ulong gfn)
    {
        if ((_state[gfn] & ~Protected) == 0)
        {
            return false;
        }

        _state[gfn]--;
        return true;
    }

    /// <summary><c>kvm_mmu_slot_gfn_write_protect</c>: guest stores to the frame now trap.</summary>
    public void WriteProtect(ulong gfn) => _state[gfn] |= Protected;

    /// <summary>The frame's mapping became writable again (its leaf tables went unsync, or nothing shadows it).</summary>
    public void Unprotect(ulong gfn) => _state[gfn] &= ~Protected;
}
