using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.Migration;

/// <summary>
/// Page migration (<c>migrate_pages</c> → <c>migrate_folio_unmap</c> / <c>migrate_folio_move</c> for one page):
/// <c>try_to_migrate</c> turns every mapping into a migration entry through the reverse map, each inside its own
/// <see cref="NotifierEvent.Migrate"/> section (Legacy: <c>InvalidatePage</c> after each change); the content is copied
/// once nobody can write the old frame, <c>folio_migrate_mapping</c> freezes the old frame's references (any reference
/// beyond ours and the page cache's, such as a get_user_pages pin, makes it fail), and <c>remove_migration_ptes</c>
/// maps the new frame with the permissions each entry had, with no notifier (a non-present entry becomes present).
/// On failure the entries map the old frame again.
/// </summary>
/// <remarks>
/// The page is found from a user address under that address space's mmap read lock and isolated (a reference), as
/// <c>move_pages</c> does; the move itself holds only the page lock, the rmap lock during each walk and each mapping's
/// page-table lock. Faulters that meet a migration entry wait and walk again. Pages in the swap cache and KSM pages
/// are not moved here.
/// </remarks>
public sealed partial class PageMigrator
{
    private readonly HostSystem _host;

    public PageMigrator(HostSystem host) => _host = host;

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>Moves the page mapped at <paramref name="hva"/> in <paramref name="mm"/> to a new frame.</summary>
    public MigrationStatus Migrate(AddressSpace mm, Hva hva)
    {
        hva = new Hva(hva.Value & ~Hva.PageMask);
        if (!mm.TryEnterScan(out var scope))
        {
            return mm.IsDead ? MigrationStatus.NotMapped : MigrationStatus.Busy;
        }

        Pfn pfn;
        using (scope)
        {
            if (!mm.IsDead && mm.HugePmdOf(hva) is var pmd and not 0)
            {
                return IsolateHuge(mm, Pte.PfnOf(pmd)) ? MigrateHugeIsolated(Pte.PfnOf(pmd)) : MigrationStatus.Unmovable;
            }

            var pte = mm.IsDead ? 0 : mm.PteOf(hva);
            if (mm.IsDead || mm.FindVma(hva) is null || !Pte.IsPresent(pte))
            {
                return MigrationStatus.NotMapped;
            }

            pfn = Pte.PfnOf(pte);
            var flags = Memory.Flags(pfn);
            if (pfn.IsZeroPage || (flags & (FrameFlags.Ksm | FrameFlags.SwapCache)) != 0
                || (flags & (FrameFlags.Anon | FrameFlags.PageCache)) == 0 || !Memory.TryGet(pfn))
            {
                return MigrationStatus.Unmovable;
            }
        }

        return MigrateIsolated(pfn);
    }

    /// <summary>
    /// Picks <paramref name="count"/> mapped pages at random (a random address space, VMA and offset, then the
    /// next present page) and migrates each.
    /// </summary>
    public MigrationResult MigrateRandomPages(int count, Random random)
    {
        var spaces = _host.LiveAddressSpaces();
        int migrated = 0, failed = 0;
        for (var n = 0; n < count && spaces.Count > 0; n++)
        {
            var mm = spaces[random.Next(spaces.Count)];
            if (PickMappedPage(mm, random) is { } hva && Migrate(mm, hva) == MigrationStatus.Migrated)
            {
                migrated++;
            }
            else
            {
                failed++;
            }
        }

        return new MigrationResult(migrated + failed, migrated, failed);
    }

    private static Hva? PickMappedPage(AddressSpace mm, Random random)
    {
        if (!mm.TryEnterScan(out var scope))
        {
            return null;
        }

        using (scope)
        {
            var vmas = mm.VmasLocked;
            if (mm.IsDead || vmas.Count == 0)
            {
                return null;
            }

            var vma = vmas[random.Next(vmas.Count)];
            var first = vma.Start.PageNumber + (ulong)random.NextInt64((long)vma.Pages);
            // From the random page to the end of the VMA, then from its start: the first present page.
            return FirstPresent(mm, first, vma.End.PageNumber) ?? FirstPresent(mm, vma.Start.PageNumber, first);
        }
    }

    private static Hva? FirstPresent(AddressSpace mm, ulong startVpn, ulong endVpn)
    {
        for (var walk = new TableWalk(mm.PageTable, startVpn, endVpn); walk.MoveNext();)
        {
            if (walk.Table.IsHugeMapped)
            {
                return Hva.FromPage(walk.BaseVpn + (ulong)walk.From); // a PMD-mapped huge page, migrated whole
            }

            for (var j = walk.From; j < walk.To; j++)
            {
                var pte = Volatile.Read(ref walk.Table.Slots[j]);
                if (Pte.IsPresent(pte) && !Pte.PfnOf(pte).IsZeroPage)
                {
                    return Hva.FromPage(walk.BaseVpn + (ulong)j);
                }
            }
        }

        return null;
    }

    /// <summary>Moves an isolated page (the caller's reference is consumed).</summary>
    private MigrationStatus MigrateIsolated(Pfn old)
    {
        var flags = Memory.Flags(old);
        var file = (flags & FrameFlags.Anon) != 0 ? null : _host.Rmap.Lookup(Memory.RmapMapping(old)) as FileObject;
        if ((flags & FrameFlags.Anon) == 0 && file is null)
        {
            Memory.Put(old);
            return MigrationStatus.Unmovable;
        }

        if (!Memory.TryAllocate(flags & (FrameFlags.Anon | FrameFlags.PageCache), 0, out var fresh))
        {
            Memory.Put(old);
            return MigrationStatus.OutOfMemory;
        }

        Memory.LockPage(old);
        var freshLocked = Memory.TryLockPage(fresh);
        System.Diagnostics.Debug.Assert(freshLocked, "a newly allocated folio is never locked by anyone else");
        var afterFree = new List<PageInvalidation>();
        var moved = Move(old, fresh, file, afterFree);
        Memory.UnlockPage(fresh);
        Memory.Put(fresh); // the allocation's reference: the new mappings and the page cache hold their own
        Memory.UnlockPage(old);
        if (moved)
        {
            Memory.FreeFrozen(old);
            _host.Count(HostCounter.Migrations);
        }
        else
        {
            Memory.Put(old);
        }

        foreach (var inv in afterFree)
        {
            inv.AfterFree(changed: true);
        }

        return moved ? MigrationStatus.Migrated : MigrationStatus.Pinned;
    }

    /// <summary>Unmap to migration entries, copy, switch the mapping, remap. True if the page moved (old is frozen).</summary>
    private bool Move(Pfn old, Pfn fresh, FileObject? file, List<PageInvalidation> afterFree)
    {
        var unmap = new TryToMigrateOne(_host, old, afterFree);
        RmapWalk.Walk(_host, old, ref unmap, tryLock: false);
        var ok = unmap.Unmapped > 0 && Memory.MapCount(old) == 0;
        if (ok)
        {
            // No PTE and no secondary maps the old frame now, so its content is final.
            Memory.Copy(old, fresh, new AccessSite("migration", -1, (ulong)old.Value));
            if ((Memory.Flags(old) & FrameFlags.Dirty) != 0)
            {
                Memory.MarkDirty(fresh);
            }

            // folio_migrate_mapping: the new frame takes the old one's place in its anon_vma or file.
            Memory.SetRmap(fresh, Memory.RmapMapping(old), Memory.RmapIndex(old));
            if (file is null)
            {
                ok = Memory.TryFreeze(old, 1);
            }
            else
            {
                Memory.Get(fresh); // the cache's reference, if the switch succeeds
                ok = file.TryReplaceFrozen(Memory.RmapIndex(old), old, fresh, Memory);
                if (!ok)
                {
                    Memory.Put(fresh);
                }
            }
        }

        var remap = new RemoveMigrationPte(_host, old, ok ? fresh : old);
        RmapWalk.Walk(_host, ok ? fresh : old, ref remap, tryLock: false, requireMapped: false);
        return ok;
    }

    /// <summary>
    /// <c>try_to_migrate_one</c> for one VMA: the present entry becomes a migration entry keeping the pfn and the
    /// writable, dirty and accessed bits; the mapping's reference is dropped (never the last: ours is held).
    /// </summary>
    private struct TryToMigrateOne(HostSystem host, Pfn pfn, List<PageInvalidation> afterFree) : IRmapOne
    {
        public int Unmapped;

        public bool Visit(Vma vma, Hva address)
        {
            var inv = new PageInvalidation(vma.Mm, address, NotifierEvent.Migrate, InvalidationCause.Migration);
            if (!inv.Start())
            {
                return true;
            }

            var changed = false;
            if (MappedPte.TryMap(host, vma, address, pfn, "try_to_migrate", migration: false, out var mapped))
            {
                using (mapped)
                {
                    if ((mapped.Pte & Pte.Dirty) != 0)
                    {
                        host.Memory.MarkDirty(pfn);
                    }

                    Volatile.Write(ref mapped.Entry, Pte.MakeMigration(mapped.Pte));
                    host.Memory.RemoveMapping(pfn);
                    changed = true;
                }
            }

            inv.AfterPteChange(changed);
            inv.End();
            if (changed)
            {
                host.Memory.Put(pfn);
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
    /// <c>remove_migration_pte</c>: where a migration entry for <paramref name="old"/> still is, map
    /// <paramref name="target"/> with the bits it had (no notifier: non-present to present). An entry zapped
    /// meanwhile (<c>MADV_DONTNEED</c>, munmap) is simply gone.
    /// </summary>
    private struct RemoveMigrationPte(HostSystem host, Pfn old, Pfn target) : IRmapOne
    {
        public bool Visit(Vma vma, Hva address)
        {
            if (MappedPte.TryMap(host, vma, address, old, "remove_migration_ptes", migration: true, out var mapped))
            {
                using (mapped)
                {
                    Volatile.Write(ref mapped.Entry, Pte.Make(target, mapped.Pte & (Pte.Writable | Pte.Dirty | Pte.Accessed)));
                    host.Memory.AddMapping(target);
                }
            }

            return true;
        }
    }
}
