using System.Runtime.CompilerServices;

namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// A four-level radix page table (PGD, PUD, PMD, PTE; 512 entries per level, 48-bit addresses). Levels are
/// allocated lazily on fault and freed by <see cref="FreeEmptyTables"/> when an unmap empties them.
/// </summary>
/// <remarks>
/// Walkers hold the address space's mmap lock (read or write); tables are only freed under the mmap write lock,
/// so no walker can be inside a table that is being freed (the kernel gets the same guarantee for its slow-path
/// walkers from the mmap lock, and for gup_fast from IRQ-off plus RCU table freeing).
/// Creating a level races only with other creators (faults under the read lock): a compare-exchange picks one.
/// </remarks>
public sealed class PageTable
{
    private const int LevelBits = 9;
    private const int LevelMask = (1 << LevelBits) - 1;

    private readonly Directory<Directory<Directory<PteTable>>> _root = new();
    private long _pteTables;

    /// <summary>Number of last-level tables currently allocated (each costs 4 KiB of entries).</summary>
    public long PteTableCount => Interlocked.Read(ref _pteTables);

    /// <summary>The last-level table covering virtual page <paramref name="vpn"/>, or null if none exists.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PteTable? Find(ulong vpn)
    {
        var pud = Volatile.Read(ref _root.Slots[Index(vpn, 3)]);
        var pmd = pud is null ? null : Volatile.Read(ref pud.Slots[Index(vpn, 2)]);
        return pmd is null ? null : Volatile.Read(ref pmd.Slots[Index(vpn, 1)]);
    }

    /// <summary>The last-level table covering <paramref name="vpn"/>, allocating missing levels.</summary>
    public PteTable GetOrCreate(ulong vpn)
    {
        var pud = GetOrCreate(_root, Index(vpn, 3));
        var pmd = GetOrCreate(pud, Index(vpn, 2));
        var slot = Index(vpn, 1);
        var table = Volatile.Read(ref pmd.Slots[slot]);
        if (table is not null)
        {
            return table;
        }

        var fresh = new PteTable();
        table = Interlocked.CompareExchange(ref pmd.Slots[slot], fresh, null) ?? fresh;
        if (ReferenceEquals(table, fresh))
        {
            Interlocked.Increment(ref _pteTables);
            Interlocked.Increment(ref pmd.Count);
        }

        return table;
    }

    /// <summary>Index of the entry within its last-level table.</summary>
    public static int PteIndex(ulong vpn) => (int)(vpn & LevelMask);

    /// <summary>
    /// Frees every last-level table in [<paramref name="startVpn"/>, <paramref name="endVpn"/>) that has no
    /// entries left, and every directory emptied by that (<c>free_pgtables</c>). Caller holds the mmap write lock.
    /// </summary>
    public void FreeEmptyTables(ulong startVpn, ulong endVpn)
    {
        for (var vpn = startVpn & ~(ulong)LevelMask; vpn < endVpn; vpn += PteTable.Entries)
        {
            var pud = _root.Slots[Index(vpn, 3)];
            var pmd = pud?.Slots[Index(vpn, 2)];
            var slot = Index(vpn, 1);
            var table = pmd?.Slots[slot];
            if (table is null || table.Used != 0)
            {
                continue;
            }

            pmd!.Slots[slot] = null;
            Interlocked.Decrement(ref _pteTables);
            if (--pmd.Count == 0)
            {
                pud!.Slots[Index(vpn, 2)] = null;
                if (--pud.Count == 0)
                {
                    _root.Slots[Index(vpn, 3)] = null;
                }
            }
        }
    }

    /// <summary>
    /// Visits every allocated last-level table overlapping [startVpn, endVpn) in address order, with the first virtual
    /// page the table covers and the entry range [from, to) of it that lies inside the walk.
    /// </summary>
    public void ForEachTable(ulong startVpn, ulong endVpn, Action<ulong, PteTable, int, int> visit)
    {
        for (var vpn = startVpn & ~(ulong)LevelMask; vpn < endVpn; vpn += PteTable.Entries)
        {
            var pud = Volatile.Read(ref _root.Slots[Index(vpn, 3)]);
            if (pud is null)
            {
                vpn = (vpn | ((1UL << (3 * LevelBits)) - 1)) - (PteTable.Entries - 1);
                continue;
            }

            var pmd = Volatile.Read(ref pud.Slots[Index(vpn, 2)]);
            if (pmd is null)
            {
                vpn = (vpn | ((1UL << (2 * LevelBits)) - 1)) - (PteTable.Entries - 1);
                continue;
            }

            var table = Volatile.Read(ref pmd.Slots[Index(vpn, 1)]);
            if (table is not null)
            {
                visit(vpn, table, (int)(Math.Max(startVpn, vpn) - vpn), (int)(Math.Min(endVpn, vpn + PteTable.Entries) - vpn));
            }
        }
    }

    private static TChild GetOrCreate<TChild>(Directory<TChild> dir, int slot)
        where TChild : class, new()
    {
        var child = Volatile.Read(ref dir.Slots[slot]);
        if (child is not null)
        {
            return child;
        }

        var fresh = new TChild();
        child = Interlocked.CompareExchange(ref dir.Slots[slot], fresh, null) ?? fresh;
        if (ReferenceEquals(child, fresh))
        {
            Interlocked.Increment(ref dir.Count);
        }

        return child;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(ulong vpn, int level) => (int)((vpn >> (LevelBits * level)) & LevelMask);

    private sealed class Directory<TChild>
        where TChild : class
    {
        public readonly TChild?[] Slots = new TChild?[512];
        public int Count;
    }
}
