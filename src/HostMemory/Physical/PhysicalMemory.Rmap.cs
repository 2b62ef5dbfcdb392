using System.Diagnostics;
using System.Runtime.CompilerServices;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// The reverse-map fields of a frame (<c>folio-&gt;mapping</c> and <c>folio-&gt;index</c>) and the page lock
/// (<c>PG_locked</c> with the hashed wait table of <c>folio_wait_table</c>).
/// </summary>
/// <remarks>
/// <para>
/// The mapping is a 16-bit id in <see cref="Rmap.RmapRegistry"/> (an anon_vma, a file's address_space or a KSM stable
/// node) and the index a 32-bit page index (the low 32 bits of the kernel's linear index for anonymous pages, the
/// file page index for page-cache pages): 6 bytes a frame in two arrays, so a mapped 4 KiB page costs
/// 16 (frame) + 6 (rmap) + 8 (PTE) + 0.16 (table headers) = 30.2 bytes of host-side memory.
/// </para>
/// <para>
/// As in the kernel, the fields are not cleared when a page is unmapped or freed: a walker that read them checks,
/// under the rmap lock, that the frame is still mapped (<c>folio_lock_anon_vma_read</c>'s <c>folio_mapped</c>
/// recheck), which proves the owner it found is still the frame's.
/// </para>
/// </remarks>
public sealed partial class PhysicalMemory
{
    // The page wait table: a waiter on a locked frame sleeps on one of these (folio_waitqueue hashes by address).
    private const int WaitBuckets = 256;

    private readonly ushort[] _rmapMapping;
    private readonly uint[] _rmapIndex;
    private readonly ProtocolLock[] _waitBuckets = CreateWaitBuckets();
    private readonly int[] _waiters = new int[WaitBuckets];

    /// <summary>Bytes of reverse-map metadata per frame (<see cref="RmapMapping"/> and <see cref="RmapIndex"/>).</summary>
    public const int RmapBytesPerFrame = sizeof(ushort) + sizeof(uint);

    /// <summary><c>folio-&gt;mapping</c>: the registry id of the frame's owner, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort RmapMapping(Pfn pfn) => Volatile.Read(ref _rmapMapping[pfn.Value]);

    /// <summary><c>folio-&gt;index</c>: the page index of the frame within its owner.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint RmapIndex(Pfn pfn) => Volatile.Read(ref _rmapIndex[pfn.Value]);

    /// <summary>
    /// <c>__folio_set_anon</c> / <c>__filemap_add_folio</c>: sets the owner and index. Called before the frame is
    /// mapped or published (the index is written first, the mapping last, so a walker that sees the new mapping
    /// sees its index), or under the page lock when the owner changes (<c>folio_move_anon_rmap</c>, KSM).
    /// </summary>
    public void SetRmap(Pfn pfn, ushort mapping, uint index)
    {
        Debug.Assert(!pfn.IsZeroPage, "the zero page has no reverse map");
        Volatile.Write(ref _rmapIndex[pfn.Value], index);
        Volatile.Write(ref _rmapMapping[pfn.Value], mapping);
    }

    /// <summary><c>folio_trylock</c>: takes the page lock if it is free.</summary>
    public bool TryLockPage(Pfn pfn)
    {
        ref var state = ref _frames[pfn.Value].State;
        var lockedBit = FrameState.FlagBits(FrameFlags.Locked);
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & (lockedBit | FrameState.FlagBits(FrameFlags.Free))) != 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref state, old | lockedBit, old) == old)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// <c>folio_lock</c>: takes the page lock, sleeping while another thread holds it. The caller holds a reference,
    /// so the frame cannot be freed meanwhile.
    /// </summary>
    public void LockPage(Pfn pfn)
    {
        Debug.Assert(RefCount(pfn) > 0, "folio_lock needs a reference on the folio");
        if (TryLockPage(pfn))
        {
            return;
        }

        var bucket = (int)((uint)pfn.Value * 2654435761u >> 24) & (WaitBuckets - 1);
        var gate = _waitBuckets[bucket];
        Interlocked.Increment(ref _waiters[bucket]);
        try
        {
            using (gate.EnterScope())
            {
                // Named wait (folio_wait_bit_common): the holder is doing I/O or a page-table walk and wakes the
                // bucket when it unlocks. The timeout is only a guard against a lost wake-up of a shared bucket.
                while (!TryLockPage(pfn))
                {
                    gate.Wait(1);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters[bucket]);
        }
    }

    /// <summary><c>folio_unlock</c>: drops the page lock and wakes the waiters of its wait bucket.</summary>
    public void UnlockPage(Pfn pfn)
    {
        var old = Interlocked.And(ref _frames[pfn.Value].State, ~FrameState.FlagBits(FrameFlags.Locked));
        if ((old & FrameState.FlagBits(FrameFlags.Locked)) == 0)
        {
            // VM_BUG_ON_FOLIO(!folio_test_locked(folio)): the page was freed and reused under its lock holder.
            _violations.Report(Diagnostics.ViolationKind.RefcountUnderflow, new Diagnostics.AccessSite("folio_unlock", -1, 0), pfn.Value,
                $"frame {pfn.Value} unlocked while not locked (freed under its lock holder)");
        }
        // The and above is a full fence: a waiter that registered before it is seen here (folio_unlock's
        // clear_bit_unlock_is_negative_byte pairs the same way with folio_wait_bit_common).
        var bucket = (int)((uint)pfn.Value * 2654435761u >> 24) & (WaitBuckets - 1);
        if (Volatile.Read(ref _waiters[bucket]) != 0)
        {
            var gate = _waitBuckets[bucket];
            using (gate.EnterScope())
            {
                gate.PulseAll();
            }
        }
    }

    /// <summary>True while some thread holds the page lock (<c>folio_test_locked</c>).</summary>
    public bool IsPageLocked(Pfn pfn) => (Flags(pfn) & FrameFlags.Locked) != 0;

    private static ProtocolLock[] CreateWaitBuckets()
    {
        var buckets = new ProtocolLock[WaitBuckets];
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] = new ProtocolLock("folio_wait_table");
        }

        return buckets;
    }
}
