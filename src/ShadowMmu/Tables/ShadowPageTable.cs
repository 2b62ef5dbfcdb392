using System.Runtime.CompilerServices;

namespace Hypervisor.ShadowMmu.Tables;

/// <summary>
/// A TDP-style shadow page table mapping gfn to SPTE: a radix of 512-entry levels (36-bit gfns), leaves allocated
/// lazily on the first install in their 2 MiB region. The table holds no page references.
/// </summary>
/// <remarks>
/// vCPUs walk it without the MMU lock (as hardware walks EPT/NPT tables); SPTEs change only by compare-exchange
/// (installs and A/D updates under the MMU read lock) or under the MMU write lock (zaps), and a zapper flushes the
/// vCPUs' TLBs, waiting for every vCPU in guest mode, before it drops the lock. Leaves are never freed while the
/// VM lives, so a lockless walker never reaches a freed table.
/// </remarks>
public sealed class ShadowPageTable
{
    public const int LeafEntries = 512;
    private const int LevelBits = 9;
    private const int LevelMask = LeafEntries - 1;

    private readonly Leaf?[]?[]?[] _root = new Leaf?[]?[]?[LeafEntries];
    private long _leaves;

    /// <summary>Number of allocated leaves (each 4 KiB of SPTEs covering 2 MiB of guest memory).</summary>
    public long LeafCount => Interlocked.Read(ref _leaves);

    /// <summary>
    /// The SPTE for <paramref name="gfn"/>, or 0 when no leaf covers it; under a 2 MiB SPTE, the gfn's 4 KiB translation
    /// (<see cref="Spte.Huge"/> cleared).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Read(ulong gfn)
    {
        var leaf = FindLeaf(gfn);
        if (leaf is null)
        {
            return 0;
        }

        var huge = Volatile.Read(ref leaf.Huge);
        return Spte.IsPresent(huge) ? Spte.SubpageOf(huge, (int)(gfn & LevelMask)) : Volatile.Read(ref leaf.Entries[gfn & LevelMask]);
    }

    /// <summary>Number of leaves holding a 2 MiB SPTE (walks the table; for statistics).</summary>
    public long CountHugeLeaves()
    {
        long count = 0;
        foreach (var l2 in _root)
        {
            foreach (var l1 in l2 ?? [])
            {
                foreach (var leaf in l1 ?? [])
                {
                    count += leaf is not null && Spte.IsPresent(Volatile.Read(ref leaf.Huge)) ? 1 : 0;
                }
            }
        }

        return count;
    }

    /// <summary>A reference to the SPTE slot for <paramref name="gfn"/>, allocating its leaf if needed.</summary>
    public ref ulong Slot(ulong gfn) => ref GetOrCreateLeaf(gfn).Entries[gfn & LevelMask];

    /// <summary>The leaf covering <paramref name="gfn"/>, or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Leaf? FindLeaf(ulong gfn)
    {
        var l2 = Volatile.Read(ref _root[(gfn >> (3 * LevelBits)) & LevelMask]);
        var l1 = l2 is null ? null : Volatile.Read(ref l2[(gfn >> (2 * LevelBits)) & LevelMask]);
        return l1 is null ? null : Volatile.Read(ref l1[(gfn >> LevelBits) & LevelMask]);
    }

    public Leaf GetOrCreateLeaf(ulong gfn)
    {
        var l2 = GetOrCreate(ref _root[(gfn >> (3 * LevelBits)) & LevelMask]);
        var l1 = GetOrCreate(ref l2[(gfn >> (2 * LevelBits)) & LevelMask]);
        ref var slot = ref l1[(gfn >> LevelBits) & LevelMask];
        var leaf = Volatile.Read(ref slot);
        if (leaf is not null)
        {
            return leaf;
        }

        var fresh = new Leaf();
        leaf = Interlocked.CompareExchange(ref slot, fresh, null) ?? fresh;
        if (ReferenceEquals(leaf, fresh))
        {
            Interlocked.Increment(ref _leaves);
        }

        return leaf;
    }

    /// <summary>
    /// Visits the allocated leaves overlapping [<paramref name="startGfn"/>, <paramref name="endGfn"/>) with the
    /// entry range inside each; skips unallocated regions a directory at a time.
    /// </summary>
    public void ForEachLeaf<TState>(ulong startGfn, ulong endGfn, ref TState state, LeafVisitor<TState> visit)
    {
        var gfn = startGfn & ~(ulong)LevelMask;
        while (gfn < endGfn)
        {
            var l2 = Volatile.Read(ref _root[(gfn >> (3 * LevelBits)) & LevelMask]);
            if (l2 is null)
            {
                gfn = (gfn | ((1UL << (3 * LevelBits)) - 1)) + 1;
                continue;
            }

            var l1 = Volatile.Read(ref l2[(gfn >> (2 * LevelBits)) & LevelMask]);
            if (l1 is null)
            {
                gfn = (gfn | ((1UL << (2 * LevelBits)) - 1)) + 1;
                continue;
            }

            var leaf = Volatile.Read(ref l1[(gfn >> LevelBits) & LevelMask]);
            if (leaf is not null)
            {
                var from = (int)(Math.Max(startGfn, gfn) - gfn);
                var to = (int)(Math.Min(endGfn, gfn + LeafEntries) - gfn);
                visit(gfn, leaf, from, to, ref state);
            }

            gfn += LeafEntries;
        }
    }

    private static T[] GetOrCreate<T>(ref T[]? slot)
    {
        var existing = Volatile.Read(ref slot);
        if (existing is not null)
        {
            return existing;
        }

        var fresh = new T[LeafEntries];
        return Interlocked.CompareExchange(ref slot, fresh, null) ?? fresh;
    }

    /// <summary>Visitor for <see cref="ForEachLeaf{TState}"/>: entries [from, to) of the leaf starting at baseGfn.</summary>
    public delegate void LeafVisitor<TState>(ulong baseGfn, Leaf leaf, int from, int to, ref TState state);

    /// <summary>
    /// A last-level table: 512 SPTEs, or one 2 MiB SPTE (<see cref="Huge"/>) in the directory entry above it.
    /// </summary>
    /// <remarks>
    /// The two are never both present: KVM's 2 MiB entry either is a leaf or points to this table. Installers of either
    /// kind compare-exchange theirs, then recheck the other and back out if both got in (a full fence each side, so at
    /// least one sees the other). The table itself stays allocated under a 2 MiB SPTE only because it was used before.
    /// </remarks>
    public sealed class Leaf
    {
        private ulong _huge;

        /// <summary>The SPTEs. Changed by compare-exchange, or under the MMU write lock.</summary>
        public ulong[] Entries { get; } = new ulong[LeafEntries];

        /// <summary>The 2 MiB SPTE over the leaf's range (pfn of the first of 512 aligned frames), or 0. Same rules as <see cref="Entries"/>.</summary>
        public ref ulong Huge => ref _huge;

        /// <summary>True if any 4 KiB SPTE is present.</summary>
        public bool AnySmallPresent()
        {
            foreach (var e in Entries)
            {
                if (Spte.IsPresent(Volatile.Read(in e)))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
