using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.Migration;

/// <summary>
/// Migration of a PMD-mapped huge page whole (<c>ARCH_ENABLE_THP_MIGRATION</c>): <c>try_to_migrate_one</c> turns each
/// PMD leaf into a PMD migration entry (<c>set_pmd_migration_entry</c>) inside a range covering the whole 2 MiB
/// (modern), or calls <c>InvalidatePage</c> once, for the leaf's first address, after the change (the legacy profile:
/// the single-address call that under-invalidates a huge mapping, why v4.13 removed it); 512 frames are copied into a
/// new huge page; <c>remove_migration_pmd</c> maps it with the old bits.
/// </summary>
public sealed partial class PageMigrator
{
    /// <summary>Takes the isolation reference of each subpage (anonymous, not KSM, not in the swap cache); false if one cannot be had.</summary>
    private bool IsolateHuge(AddressSpace mm, Pfn head)
    {
        var flags = Memory.Flags(head);
        if ((flags & FrameFlags.Anon) == 0 || (flags & (FrameFlags.Ksm | FrameFlags.SwapCache)) != 0 || mm.IsDead)
        {
            return false;
        }

        for (var k = 0; k < PteTable.Entries; k++)
        {
            if (!Memory.TryGet(new Pfn(head.Value + k)))
            {
                PutRange(head, k);
                return false;
            }
        }

        return true;
    }

    /// <summary>Moves an isolated huge page (the caller's 512 references are consumed).</summary>
    private MigrationStatus MigrateHugeIsolated(Pfn head)
    {
        if (!Memory.TryAllocateHuge(FrameFlags.Anon, out var fresh))
        {
            PutRange(head, PteTable.Entries);
            return MigrationStatus.OutOfMemory;
        }

        Memory.LockPage(head); // the folio lock: faults on the migration entry wait while it is held
        var afterFree = new List<PageInvalidation>();
        var unmap = new TryToMigrateHugeOne(_host, head, afterFree);
        RmapWalk.Walk(_host, head, ref unmap, tryLock: false);
        var moved = unmap.Unmapped > 0 && AllUnmapped(head) && CopyAndFreeze(head, fresh);
        var remap = new RemoveMigrationPmd(_host, head, moved ? fresh : head);
        RmapWalk.Walk(_host, moved ? fresh : head, ref remap, tryLock: false, requireMapped: false);
        PutRange(fresh, PteTable.Entries); // the allocation's references: the new mappings hold their own
        Memory.UnlockPage(head);
        for (var k = 0; k < PteTable.Entries; k++)
        {
            var pfn = new Pfn(head.Value + k);
            if (moved)
            {
                Memory.FreeFrozen(pfn);
            }
            else
            {
                Memory.Put(pfn);
            }
        }

        foreach (var inv in afterFree)
        {
            inv.AfterFree(changed: true);
        }

        if (moved)
        {
            _host.Count(HostCounter.Migrations);
            _host.Count(HostCounter.ThpMigrations);
        }

        return moved ? MigrationStatus.Migrated : MigrationStatus.Pinned;
    }

    private bool AllUnmapped(Pfn head)
    {
        for (var k = 0; k < PteTable.Entries; k++)
        {
            if (Memory.MapCount(new Pfn(head.Value + k)) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// No entry maps the old frames now, so their content is final: copy, move the rmap and dirty state, and freeze each
    /// old frame at our one reference (a gup pin on any subpage fails the move, and the frozen ones are given back).
    /// </summary>
    private bool CopyAndFreeze(Pfn head, Pfn fresh)
    {
        for (var k = 0; k < PteTable.Entries; k++)
        {
            var from = new Pfn(head.Value + k);
            var to = new Pfn(fresh.Value + k);
            Memory.Copy(from, to, new AccessSite("migration", -1, (ulong)from.Value));
            if ((Memory.Flags(from) & FrameFlags.Dirty) != 0)
            {
                Memory.MarkDirty(to);
            }

            Memory.SetRmap(to, Memory.RmapMapping(from), Memory.RmapIndex(from));
        }

        for (var k = 0; k < PteTable.Entries; k++)
        {
            if (!Memory.TryFreeze(new Pfn(head.Value + k), 1))
            {
                for (var j = 0; j < k; j++)
                {
                    Memory.Unfreeze(new Pfn(head.Value + j), 1);
                }

                return false;
            }
        }

        return true;
    }

    private void PutRange(Pfn first, int count)
    {
        for (var k = 0; k < count; k++)
        {
            Memory.Put(new Pfn(first.Value + k));
        }
    }

    /// <summary>
    /// <c>try_to_migrate_one</c> on a PMD leaf: range over [address, +2 MiB) (modern) or <c>InvalidatePage(address)</c>
    /// after the change (legacy), the leaf becomes a PMD migration entry, each subpage loses the leaf's mapping and its
    /// reference (never the last: ours are held).
    /// </summary>
    private struct TryToMigrateHugeOne(HostSystem host, Pfn head, List<PageInvalidation> afterFree) : IRmapOne
    {
        public int Unmapped;

        public bool Visit(Vma vma, Hva address)
        {
            var inv = new PageInvalidation(vma.Mm, address, NotifierEvent.Migrate, InvalidationCause.Migration, AddressSpace.HugePageSize);
            if (!inv.Start())
            {
                return true;
            }

            var changed = false;
            if (MappedPte.TryMap(host, vma, address, head, "try_to_migrate", migration: false, out var mapped, pmdLeafOk: true))
            {
                using (mapped)
                {
                    if (mapped.IsPmdLeaf && Pte.PfnOf(mapped.Pte) == head)
                    {
                        Volatile.Write(ref mapped.Entry, Pte.MakeMigration(mapped.Pte)); // set_pmd_migration_entry
                        for (var k = 0; k < PteTable.Entries; k++)
                        {
                            var pfn = new Pfn(head.Value + k);
                            if ((mapped.Pte & Pte.Dirty) != 0)
                            {
                                host.Memory.MarkDirty(pfn);
                            }

                            host.Memory.RemoveMapping(pfn);
                        }

                        changed = true;
                    }
                }
            }

            inv.AfterPteChange(changed);
            inv.End();
            if (changed)
            {
                for (var k = 0; k < PteTable.Entries; k++)
                {
                    host.Memory.Put(new Pfn(head.Value + k));
                }

                Unmapped++;
                if (inv.InvalidatesAfterFree)
                {
                    afterFree.Add(inv);
                }
            }

            return true;
        }
    }

    /// <summary>
    /// <c>remove_migration_pmd</c>: where a PMD migration entry for <paramref name="old"/> still is, map
    /// <paramref name="target"/> with the bits it had (non-present to present: no notifier).
    /// </summary>
    private struct RemoveMigrationPmd(HostSystem host, Pfn old, Pfn target) : IRmapOne
    {
        public bool Visit(Vma vma, Hva address)
        {
            if (MappedPte.TryMap(host, vma, address, old, "remove_migration_pmd", migration: true, out var mapped) && mapped.IsPmdLeaf)
            {
                using (mapped)
                {
                    for (var k = 0; k < PteTable.Entries; k++)
                    {
                        host.Memory.AddMapping(new Pfn(target.Value + k));
                    }

                    Volatile.Write(ref mapped.Entry, Pte.Make(target, Pte.Huge | (mapped.Pte & (Pte.Writable | Pte.Dirty | Pte.Accessed))));
                }
            }
            else
            {
                mapped.Dispose();
            }

            return true;
        }
    }
}
