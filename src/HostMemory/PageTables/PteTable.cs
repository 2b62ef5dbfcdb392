using Hypervisor.HostMemory.Locking;

namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// A last-level page table: 512 entries covering 2 MiB, with its own page-table lock (split PTL, like the
/// kernel's per-table <c>ptl</c>).
/// </summary>
#pragma warning disable CA1051 // Fields, not properties: the fault and zap loops index and lock them directly.
public sealed class PteTable
{
    public const int Entries = 512;

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
}
