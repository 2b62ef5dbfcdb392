using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// <c>struct mmu_gather</c> (asm-generic/tlb.h): "1) unhook page 2) TLB invalidate page 3) free page". A zap hands it
/// the references of the pages it unmapped and <c>free_pgtables</c> the tables it unhooked; <see cref="Finish"/>
/// (<c>tlb_finish_mmu</c>) flushes the TLB and only then frees them. A full page batch is flushed and freed early
/// (<c>tlb_flush_mmu</c>), which is safe inside a notifier section because its start already zapped the secondaries.
/// </summary>
/// <remarks>
/// The host CPUs' TLBs are not modelled, so the flush itself is an ordering point and a count; what matters is that
/// nothing is freed before it. The <see cref="HostMutations.TableFreeBeforeFlush"/> variant frees tables at unhook time
/// instead, while rmap walkers may still be inside them.
/// </remarks>
internal sealed class MmuGather(HostSystem host)
{
    // MAX_GATHER_BATCH-like: pages held before an early flush.
    private const int PageBatch = 1024;

    private readonly List<Pfn> _pages = [];
    private readonly List<PteTable> _tables = [];

    /// <summary>Page references dropped through this gather so far (after a flush each).</summary>
    public long PagesFreed { get; private set; }

    /// <summary>Of those, the references that were the page's last (the page went back to the allocator).</summary>
    public long LastReferencesDropped { get; private set; }

    /// <summary>Tables freed through this gather so far.</summary>
    public int TablesFreed { get; private set; }

    /// <summary><c>__tlb_remove_page</c>: the unmapped page's reference, dropped after the next flush.</summary>
    public void RemovePage(Pfn pfn)
    {
        _pages.Add(pfn);
        if (_pages.Count >= PageBatch)
        {
            FlushMmu();
        }
    }

    /// <summary>
    /// <c>pte_free_tlb</c>: a page table unhooked from its directory, freed after the flush. With the
    /// <see cref="HostMutations.TableFreeBeforeFlush"/> variant it is freed at once.
    /// </summary>
    public void RemoveTable(PteTable table)
    {
        if ((host.Mutations & HostMutations.TableFreeBeforeFlush) != 0)
        {
            FreeTable(table);
            return;
        }

        _tables.Add(table);
    }

    /// <summary><c>tlb_flush_mmu</c>: flush, then free the batched pages.</summary>
    public void FlushMmu()
    {
        if (_pages.Count == 0)
        {
            return;
        }

        host.Count(HostCounter.HostTlbFlushes);
        FreePages();
    }

    /// <summary><c>tlb_finish_mmu</c>: the last flush, then every batched page and table is freed.</summary>
    public void Finish()
    {
        if (_pages.Count == 0 && _tables.Count == 0)
        {
            return;
        }

        host.Count(HostCounter.HostTlbFlushes);
        FreePages();
        foreach (var table in _tables)
        {
            FreeTable(table);
        }

        _tables.Clear();
    }

    private void FreePages()
    {
        foreach (var pfn in _pages)
        {
            // An unlocked peek, good enough for a statistic (the OOM reaper's pages-freed count).
            LastReferencesDropped += host.Memory.RefCount(pfn) == 1 ? 1 : 0;
            host.Memory.Put(pfn);
        }

        PagesFreed += _pages.Count;
        _pages.Clear();
    }

    private void FreeTable(PteTable table)
    {
        if (Volatile.Read(ref table.Used) != 0)
        {
            // free_pte_range frees only tables whose entries were all zapped: a count off here means an entry changed
            // without the page-table lock.
            host.Violations.Report(PteTable.PageTableUseAfterFree, new Diagnostics.AccessSite("free_pte_range", -1, 0), table.Frame.Value,
                $"page table (frame {table.Frame.Value}) freed with {table.Used} entries counted in use");
        }

        table.Poison(host.Violations);
        host.Memory.Put(table.Frame);
        host.Count(HostCounter.PageTablesFreed);
        TablesFreed++;
    }
}
