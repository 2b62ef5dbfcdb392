namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// The contents of the guest frames that hold guest page tables: 512 guest PTEs per frame, indexed by gfn. The
/// guest's stores go through the vCPU (<see cref="Vcpus.Vcpu.WriteGuestPte"/>), which decides whether they trap; the
/// hypervisor's guest walk reads them as <c>FNAME(walk_addr)</c> reads gptes with <c>__get_user</c>.
/// </summary>
/// <remarks>
/// A host frame holds one content word in this simulator, so table contents live here, beside guest memory, and not
/// in the host frames of those gfns. The model therefore forbids host-side changes of guest table contents (the
/// reference's open question in §1.7): a host discard or swap of a table frame leaves its gptes intact, as the
/// guest would require of any VMM that does not corrupt it. Frames are allocated on first store and never freed;
/// entries are single words read and written atomically, and each table is changed only by the vCPU running the
/// guest process that owns it, or by the emulator on its behalf.
/// </remarks>
public sealed class GuestTableMemory(ulong guestPages)
{
    private readonly ulong[]?[] _frames = new ulong[]?[guestPages];
    private long _framesAllocated;

    /// <summary>Guest frames this memory covers.</summary>
    public ulong Pages => (ulong)_frames.Length;

    /// <summary>Frames that ever held a table entry.</summary>
    public long FramesAllocated => Interlocked.Read(ref _framesAllocated);

    /// <summary>The gpte at <paramref name="index"/> of the table in frame <paramref name="gfn"/> (0 for a frame never written).</summary>
    public ulong Read(ulong gfn, int index)
    {
        var frame = Volatile.Read(ref _frames[gfn]);
        return frame is null ? 0 : Volatile.Read(ref frame[index]);
    }

    /// <summary>Stores a gpte. Callers are the vCPU's store path and the emulator, never the host.</summary>
    internal void Write(ulong gfn, int index, ulong gpte) => Volatile.Write(ref Frame(gfn)[index], gpte);

    /// <summary>Zeroes the frame (a guest kernel clearing a page before using it as a table).</summary>
    internal void Clear(ulong gfn)
    {
        var frame = Volatile.Read(ref _frames[gfn]);
        if (frame is not null)
        {
            Array.Clear(frame);
        }
    }

    /// <summary>Bytes of simulator memory the table contents take.</summary>
    public long FootprintBytes => (long)_frames.Length * IntPtr.Size + FramesAllocated * (Gpte.Entries * sizeof(ulong) + 24);

    private ulong[] Frame(ulong gfn)
    {
        var frame = Volatile.Read(ref _frames[gfn]);
        if (frame is not null)
        {
            return frame;
        }

        var fresh = new ulong[Gpte.Entries];
        frame = Interlocked.CompareExchange(ref _frames[gfn], fresh, null) ?? fresh;
        if (ReferenceEquals(frame, fresh))
        {
            Interlocked.Increment(ref _framesAllocated);
        }

        return frame;
    }
}
