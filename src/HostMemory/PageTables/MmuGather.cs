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
/// Tables are also kept from lockless walkers, which no lock excludes, by the host's <see cref="TableFreeScheme"/>
/// (<see cref="FreeTables"/>). Page-only flushes send no IPI here: <c>gup_fast</c>'s recheck of the PTE after taking
/// its reference is what protects a page.
/// </remarks>
/// <param name="host">The host whose memory and CPUs the gather uses.</param>
/// <param name="mm">The address space whose tables are freed (its lockless-walker count, walker-counter scheme).</param>
internal sealed class MmuGather(HostSystem host, AddressSpaces.AddressSpace? mm = null)
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
    public int TablesFreed => Volatile.Read(ref _tablesFreed);

    private int _tablesFreed;

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
        if (_tables.Count > 0)
        {
            FreeTables([.. _tables]);
            _tables.Clear();
        }
    }

    /// <summary>
    /// Frees unhooked tables once no lockless walker can be inside them, by the host's scheme: an IPI to every CPU
    /// (<c>tlb_flush_mmu</c> as a shootdown, or <c>tlb_remove_table_sync_one</c>), a <c>call_rcu</c> batch
    /// (<c>tlb_remove_table_rcu</c>), or Bras's count check. Caller has unhooked them (their directory slots are
    /// clear) and holds no page-table lock, with interrupts on.
    /// </summary>
    private void FreeTables(PteTable[] tables)
    {
        if ((host.Mutations & HostMutations.TableFreeNoSync) != 0)
        {
            FreeAll(tables); // the broken variant: a walker that read the old PMD may still be inside
            return;
        }

        switch (host.Options.TableFree)
        {
            case TableFreeScheme.Rcu:
                host.Cpus.CallRcu(() => FreeAll(tables));
                return;
            case TableFreeScheme.WalkerCounter:
                // serialize_against_pte_lookup with the count: the unhook must be visible before the count is read
                // (the smp_mb pairing with the walker's after its increment), or a walker that counted itself after
                // this read could still load the old PMD.
                Interlocked.MemoryBarrier();
                if (mm is not null && mm.LocklessWalkers != 0)
                {
                    host.Count(HostCounter.WalkerCounterSerializations);
                    host.Cpus.SendIpiToAllAndWait();
                }

                FreeAll(tables);
                return;
            default:
                host.Cpus.SendIpiToAllAndWait();
                FreeAll(tables);
                return;
        }
    }

    private void FreeAll(PteTable[] tables)
    {
        foreach (var table in tables)
        {
            FreeTable(table);
        }
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
        Interlocked.Increment(ref _tablesFreed);
    }
}
