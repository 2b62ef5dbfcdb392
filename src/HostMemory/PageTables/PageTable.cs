using System.Runtime.CompilerServices;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// A four-level radix page table (PGD, PUD, PMD, PTE; 512 entries per level, 48-bit addresses). Last-level tables
/// are allocated on fault, each charged one host frame (<c>__pte_alloc</c>), and unhooked by
/// <see cref="FreeEmptyTables"/> into an <see cref="MmuGather"/> that frees them after the TLB flush.
/// </summary>
/// <remarks>
/// Two kinds of walkers keep a table alive in two ways, as in the kernel. Faults, get_user_pages and host accesses
/// hold the mmap lock, and tables are unhooked only under the mmap write lock. Rmap walkers (reclaim, aging,
/// writeback, migration) hold no mmap lock: they reach a table only through a VMA found in the reverse map under
/// its rmap lock, and <c>free_pgtables</c> unlinks every VMA from the reverse maps (rmap write locks, which wait for
/// those walkers) before it unhooks a table. A freed table is poisoned, so a walker that gets this wrong is caught.
/// Creating a level races only with other creators (faults under the read lock): a compare-exchange picks one.
/// </remarks>
public sealed class PageTable
{
    private const int LevelBits = 9;
    private const int LevelMask = (1 << LevelBits) - 1;

    /// <summary>Content word of a page-table page's frame (what a stale reader of the frame would see).</summary>
    private const ulong TableFrameContent = 0x7AB1E_0000_0000UL;

    private readonly Directory<Directory<Directory<PteTable>>> _root = new();
    private readonly HostSystem _host;
    private long _pteTables;

    public PageTable(HostSystem host) => _host = host;

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

    /// <summary>
    /// The last-level table covering <paramref name="vpn"/>, allocating missing levels (<c>__pte_alloc</c> +
    /// <c>pmd_install</c>). False when no host frame is left for a new table (the fault fails with out-of-memory).
    /// Caller holds the mmap lock (read or write) and no page-table lock: the allocation may reclaim.
    /// </summary>
    public bool TryGetOrCreate(ulong vpn, out PteTable table)
    {
        var pud = GetOrCreate(_root, Index(vpn, 3));
        var pmd = GetOrCreate(pud, Index(vpn, 2));
        var slot = Index(vpn, 1);
        table = Volatile.Read(ref pmd.Slots[slot])!;
        if (table is not null)
        {
            return true;
        }

        // Allocated outside any lock; the compare-exchange publishes the zeroed table (pmd_install's smp_wmb:
        // "all pte setup ... visible before the pte is made visible"), and a loser frees its copy.
        if (!_host.Memory.TryAllocate(FrameFlags.None, TableFrameContent, out var frame))
        {
            table = null!;
            return false;
        }

        var fresh = new PteTable(frame);
        table = Interlocked.CompareExchange(ref pmd.Slots[slot], fresh, null) ?? fresh;
        if (ReferenceEquals(table, fresh))
        {
            Interlocked.Increment(ref _pteTables);
            Interlocked.Increment(ref pmd.Count);
            _host.Count(HostCounter.PageTablesAllocated);
        }
        else
        {
            _host.Memory.Put(frame);
        }

        return true;
    }

    /// <summary>Like <see cref="TryGetOrCreate"/>, for callers that cannot fail (tests): throws when the host is out of memory.</summary>
    public PteTable GetOrCreate(ulong vpn) =>
        TryGetOrCreate(vpn, out var table) ? table : throw new InvalidOperationException("out of memory for a page table");

    /// <summary>Index of the entry within its last-level table.</summary>
    public static int PteIndex(ulong vpn) => (int)(vpn & LevelMask);

    /// <summary>
    /// Unhooks every last-level table in [<paramref name="startVpn"/>, <paramref name="endVpn"/>) that has no
    /// entries left into <paramref name="gather"/>, which frees it after the TLB flush, and drops every directory
    /// emptied by that (<c>free_pgd_range</c> → <c>free_pte_range</c> → <c>pte_free_tlb</c>). Caller holds the mmap
    /// write lock, and has unlinked the range's VMAs from the reverse maps first.
    /// </summary>
    internal void FreeEmptyTables(ulong startVpn, ulong endVpn, MmuGather gather)
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

            Volatile.Write(ref pmd!.Slots[slot], null);
            Interlocked.Decrement(ref _pteTables);
            gather.RemoveTable(table);
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
    /// <c>pmdp_collapse_flush</c>'s clear: the PMD entry of <paramref name="vpn"/> no longer points to its table (returned,
    /// still allocated and counted), so new walks find nothing there. Caller holds the mmap write lock, the rmap lock of
    /// the range for write, and the table's lock.
    /// </summary>
    internal PteTable? DetachTable(ulong vpn)
    {
        var pmd = _root.Slots[Index(vpn, 3)]?.Slots[Index(vpn, 2)];
        var table = pmd?.Slots[Index(vpn, 1)];
        if (table is not null)
        {
            Volatile.Write(ref pmd!.Slots[Index(vpn, 1)], null);
        }

        return table;
    }

    /// <summary>
    /// Hooks a table detached by <see cref="DetachTable"/> back (<c>pmd_populate</c> of the old table after a failed
    /// collapse, or of the deposited table under a new PMD leaf). Caller holds what <see cref="DetachTable"/> needed;
    /// whatever the table holds is set up before this publishes it.
    /// </summary>
    internal void ReattachTable(ulong vpn, PteTable table)
    {
        var pmd = _root.Slots[Index(vpn, 3)]!.Slots[Index(vpn, 2)]!;
        Volatile.Write(ref pmd.Slots[Index(vpn, 1)], table);
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
