using System.Diagnostics;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Locking;

namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// A last-level page table: 512 entries covering 2 MiB, with its own page-table lock (split PTL, like the
/// kernel's per-table <c>ptl</c>), backed by one host frame (<see cref="Frame"/>, the kernel's page-table page).
/// </summary>
/// <remarks>
/// Its lifetime is the kernel's: allocated on fault (<c>__pte_alloc</c>), unhooked by <c>free_pgtables</c> after the
/// VMAs were unlinked from the reverse maps, then freed through an <see cref="MmuGather"/> after the TLB flush. A freed
/// table is poisoned (<see cref="IsFreed"/>, every entry <see cref="PoisonEntry"/>) under its lock; a walker that takes
/// the lock of a freed table reports a page-table use-after-free (<see cref="CheckLive"/>).
/// </remarks>
#pragma warning disable CA1051 // Fields, not properties: the fault and zap loops index and lock them directly.
public sealed class PteTable
{
    public const int Entries = 512;

    /// <summary>What every entry of a freed table holds: not none, yet neither present nor a swap or migration entry.</summary>
    public const ulong PoisonEntry = 0xDEAD_BEEF_0000_0000UL;

    /// <summary>Violation kind of a walker that entered a freed page table.</summary>
    public static readonly ViolationKind PageTableUseAfterFree = new("page-table-use-after-free");

    private volatile bool _freed;

    // Rmap walkers between finding this table and leaving it (page_vma_mapped_walk ... _done).
    private int _walkers;

    public PteTable(Pfn frame) => Frame = frame;

    /// <summary>The host frame holding this table (counted as host memory while the table lives).</summary>
    public Pfn Frame { get; }

    /// <summary>True once the table was freed (after its TLB flush); its entries are poison.</summary>
    public bool IsFreed => _freed;

    /// <summary>The entries. Written only under <see cref="Ptl"/>; read under it or with the mmap lock held.</summary>
    public readonly ulong[] Slots = new ulong[Entries];

    /// <summary>
    /// The page-table lock (a spinlock, as the kernel's split PTL): guards <see cref="Slots"/> and <see cref="Used"/>
    /// against concurrent faults, zaps and protection changes. Taken as <c>using (table.Ptl.Enter())</c>. Never held
    /// while calling an MMU notifier, and never taken twice by one thread.
    /// </summary>
    public SpinLatch Ptl;

    /// <summary>Non-empty entries (present or swap); an unmap that brings it to zero frees the table.</summary>
    public int Used;

    /// <summary>
    /// The PMD-level leaf of the 2 MiB this table covers, or 0: a transparent huge page mapped by one entry
    /// (<c>pmd_trans_huge</c>, <see cref="Pte.Huge"/>), a PMD migration entry, or, while a split is between
    /// <c>pmdp_invalidate</c> and <c>pmd_populate</c>, the leaf with its present bit cleared. While it is non-zero this
    /// table is the one <c>pgtable_trans_huge_deposit</c> keeps for a later split: every slot is 0 and
    /// <see cref="Used"/> counts all <see cref="Entries"/> as in use, so nothing frees it. Written under <see cref="Ptl"/>
    /// (the PMD lock and the PTL are one lock here); lockless walkers read it once.
    /// </summary>
    public ulong Pmd;

    /// <summary>True while a present PMD leaf maps this table's 2 MiB.</summary>
    public bool IsHugeMapped => (Volatile.Read(ref Pmd) & (Pte.Huge | Pte.Present)) == (Pte.Huge | Pte.Present);

    /// <summary>
    /// The entry that maps slot <paramref name="index"/>: the subpage of a present PMD leaf, else the slot. Caller holds
    /// <see cref="Ptl"/> or the mmap lock (a PMD leaf changes only under both).
    /// </summary>
    public ulong EntryAt(int index)
    {
        var pmd = Volatile.Read(ref Pmd);
        return (pmd & (Pte.Huge | Pte.Present)) == (Pte.Huge | Pte.Present) ? Pte.SubpageOf(pmd, index) : Volatile.Read(ref Slots[index]);
    }

    /// <summary>
    /// For a walker that holds <see cref="Ptl"/> (or walks locklessly): false, with a
    /// <see cref="PageTableUseAfterFree"/> violation, if the table was freed under it.
    /// </summary>
    public bool CheckLive(ViolationLog violations, in AccessSite site)
    {
        if (!_freed)
        {
            return true;
        }

        violations.Report(PageTableUseAfterFree, site, Frame.Value,
            $"{site.Actor} entered page table (frame {Frame.Value}) after it was freed (address page 0x{site.Address:x})");
        return false;
    }

    /// <summary>A walker found this table through its directory and may use it until <see cref="LeaveWalker"/>.</summary>
    internal void EnterWalker() => Interlocked.Increment(ref _walkers);

    internal void LeaveWalker() => Interlocked.Decrement(ref _walkers);

    /// <summary>
    /// Poisons the table for its free (<c>pte_free</c>): under its lock, so a walker holding the lock either finishes
    /// before or sees <see cref="IsFreed"/>. A walker still between finding the table and leaving it is reported here
    /// (the free side of P1: the table was freed under a walker that will read it).
    /// </summary>
    internal void Poison(ViolationLog violations)
    {
        // The walker count is read after the directory slot was cleared (the caller's unhook): a walker that found the
        // table registered before that, or finds no table.
        Interlocked.MemoryBarrier();
        var inside = Volatile.Read(ref _walkers);
        if (inside > 0)
        {
            violations.Report(PageTableUseAfterFree, new AccessSite("pte_free", -1, 0), Frame.Value,
                $"page table (frame {Frame.Value}) freed while {inside} rmap walker(s) were inside it");
        }

        using (Ptl.Enter())
        {
            Debug.Assert(!_freed, "a page table is freed once");
            _freed = true;
            Array.Fill(Slots, PoisonEntry);
            Pmd = PoisonEntry;
            Used = 0;
        }
    }
}
