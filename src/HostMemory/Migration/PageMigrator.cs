using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;

namespace Hypervisor.HostMemory.Migration;

/// <summary>
/// Page migration (<c>migrate_pages</c> for one page): every mapping of the page becomes a migration entry inside a
/// <see cref="NotifierEvent.Migrate"/> invalidation (Legacy: <c>InvalidatePage</c> after each change), the content
/// is copied once nobody can write the old frame, the page cache is switched over, every entry maps the new frame
/// with the permissions it had, the invalidations end, and only then is the old frame freed.
/// </summary>
/// <remarks>
/// The mappings are found from the VMAs (same address in every address space for an anonymous page shared by
/// fork; every VMA of the file for a page-cache page), under the mmap read lock of every live address space,
/// taken without waiting. Faulters that meet a migration entry wait and walk again. If the old frame has any
/// reference that is not one of the mappings (or the cache), the move is undone: the entries map the old frame
/// again, as <c>migrate_folio</c>'s reference check does.
/// </remarks>
public sealed class PageMigrator
{
    private readonly HostSystem _host;

    public PageMigrator(HostSystem host) => _host = host;

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>Moves the page mapped at <paramref name="hva"/> in <paramref name="mm"/> to a new frame.</summary>
    public MigrationStatus Migrate(AddressSpace mm, Hva hva)
    {
        hva = new Hva(hva.Value & ~Hva.PageMask);
        using var locks = new ScanLocks();
        if (!locks.TryAdd(mm))
        {
            return mm.IsDead ? MigrationStatus.NotMapped : MigrationStatus.Busy;
        }

        var vma = mm.FindVma(hva);
        var pte = mm.PteOf(hva);
        if (vma is null || !Pte.IsPresent(pte))
        {
            return MigrationStatus.NotMapped;
        }

        var pfn = Pte.PfnOf(pte);
        var flags = Memory.Flags(pfn);
        if (pfn.IsZeroPage || (flags & FrameFlags.Ksm) != 0 || (flags & (FrameFlags.Anon | FrameFlags.PageCache)) == 0)
        {
            return MigrationStatus.Unmovable;
        }

        var file = (flags & FrameFlags.Anon) != 0 ? null : vma.File;
        var index = file is null ? 0 : vma.FileIndex(hva.PageNumber);
        if ((flags & FrameFlags.Anon) == 0 && file is null)
        {
            return MigrationStatus.Unmovable;
        }

        var mappings = new List<Mapping>();
        if (!FindMappings(mm, hva, pfn, file, index, locks, mappings))
        {
            return MigrationStatus.Busy;
        }

        if (!Memory.TryAllocate(flags & (FrameFlags.Anon | FrameFlags.PageCache), 0, out var fresh))
        {
            return MigrationStatus.OutOfMemory;
        }

        var moved = Move(pfn, fresh, file, index, mappings);
        if (moved)
        {
            _host.Count(HostCounter.Migrations);
        }

        return moved ? MigrationStatus.Migrated : MigrationStatus.Pinned;
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

    /// <summary>
    /// The reverse map, from the VMAs: every place that may map <paramref name="pfn"/>. False if an address space
    /// that has to be looked at is busy.
    /// </summary>
    private bool FindMappings(AddressSpace mm, Hva hva, Pfn pfn, FileObject? file, long index, ScanLocks locks, List<Mapping> into)
    {
        if (file is null && Memory.MapCount(pfn) <= 1)
        {
            into.Add(new Mapping(mm, hva));
            return true;
        }

        foreach (var other in _host.LiveAddressSpaces())
        {
            if (!locks.TryAdd(other))
            {
                if (other.IsDead)
                {
                    continue;
                }

                return false;
            }

            if (file is null)
            {
                // fork keeps addresses: an anonymous page shared by fork is at the same address everywhere.
                if (Pte.IsPresent(other.PteOf(hva)) && Pte.PfnOf(other.PteOf(hva)) == pfn)
                {
                    into.Add(new Mapping(other, hva));
                }

                continue;
            }

            foreach (var vma in other.VmasLocked)
            {
                if (FileMappings.TryAddressOf(vma, file, index, out var at))
                {
                    into.Add(new Mapping(other, at));
                }
            }
        }

        return true;
    }

    /// <summary>Unmap to migration entries, copy, switch the cache, remap, end, free. True if the page moved.</summary>
    private bool Move(Pfn old, Pfn fresh, FileObject? file, long index, List<Mapping> mappings)
    {
        var invs = new PageInvalidation[mappings.Count];
        var started = new bool[mappings.Count];
        var entries = new ulong[mappings.Count];
        var allStarted = true;
        for (var k = 0; k < mappings.Count; k++)
        {
            invs[k] = new PageInvalidation(mappings[k].Mm, mappings[k].Hva, NotifierEvent.Migrate, InvalidationCause.Migration);
            started[k] = invs[k].Start();
            allStarted &= started[k];
        }

        var unmapped = 0;
        for (var k = 0; k < mappings.Count; k++)
        {
            entries[k] = started[k] ? ToMigrationEntry(mappings[k], old) : 0;
            unmapped += entries[k] != 0 ? 1 : 0;
            invs[k].AfterPteChange(entries[k] != 0);
        }

        // No PTE and no secondary maps the old frame now, so its content is final... if every mapping was found
        // and nobody else holds a reference (for a page-cache page, checked under the cache lock).
        var ok = allStarted && unmapped > 0 && Memory.MapCount(old) == 0;
        if (ok)
        {
            Memory.Copy(old, fresh, new AccessSite("migration", -1, (ulong)old.Value));
            if ((Memory.Flags(old) & FrameFlags.Dirty) != 0)
            {
                Memory.MarkDirty(fresh);
            }

            if (file is not null)
            {
                Memory.Get(fresh); // the cache's reference, if the switch succeeds
                ok = file.TryFreezeAndReplace(index, old, fresh, Memory, unmapped + 1);
                if (!ok)
                {
                    Memory.Put(fresh);
                }
            }
            else
            {
                ok = Memory.RefCount(old) == unmapped;
            }
        }

        var target = ok ? fresh : old;
        var returnedToOld = new bool[mappings.Count];
        for (var k = 0; k < mappings.Count; k++)
        {
            if (entries[k] != 0)
            {
                returnedToOld[k] = FromMigrationEntry(mappings[k], entries[k], target) && !ok;
            }
        }

        for (var k = 0; k < mappings.Count; k++)
        {
            if (started[k])
            {
                invs[k].End();
            }
        }

        // Free only now, after every secondary has returned from its invalidation.
        for (var k = 0; k < mappings.Count; k++)
        {
            if (entries[k] != 0 && !returnedToOld[k])
            {
                Memory.Put(old); // the reference of a mapping that no longer maps the old frame
            }
        }

        if (ok && file is not null)
        {
            Memory.Put(old); // the cache's reference, handed over by the switch
        }

        Memory.Put(fresh); // the allocation's reference: the new mappings and the cache hold their own
        for (var k = 0; k < mappings.Count; k++)
        {
            invs[k].AfterFree(entries[k] != 0);
        }

        return ok;
    }

    /// <summary>Replaces the present PTE mapping <paramref name="old"/> by a migration entry; 0 if it maps something else.</summary>
    private ulong ToMigrationEntry(Mapping mapping, Pfn old)
    {
        var vpn = mapping.Hva.PageNumber;
        if (mapping.Mm.PageTable.Find(vpn) is not { } table)
        {
            return 0;
        }

        var i = PageTable.PteIndex(vpn);
        using (table.Ptl.Enter())
        {
            var pte = table.Slots[i];
            if (!Pte.IsPresent(pte) || Pte.PfnOf(pte) != old)
            {
                return 0;
            }

            if ((pte & Pte.Dirty) != 0)
            {
                Memory.MarkDirty(old);
            }

            var entry = Pte.MakeMigration(pte);
            Volatile.Write(ref table.Slots[i], entry);
            Memory.RemoveMapping(old); // the reference stays with this migration until the old frame is freed
            return entry;
        }
    }

    /// <summary>
    /// <c>remove_migration_pte</c>: maps <paramref name="target"/> where the entry still is, with the bits it had.
    /// False if the entry was zapped meanwhile (<c>MADV_DONTNEED</c>).
    /// </summary>
    private bool FromMigrationEntry(Mapping mapping, ulong entry, Pfn target)
    {
        var table = mapping.Mm.PageTable.Find(mapping.Hva.PageNumber)!;
        var i = PageTable.PteIndex(mapping.Hva.PageNumber);
        using (table.Ptl.Enter())
        {
            if (table.Slots[i] != entry)
            {
                return false;
            }

            Volatile.Write(ref table.Slots[i], Pte.Make(target, entry & (Pte.Writable | Pte.Dirty | Pte.Accessed)));
            if (target == Pte.PfnOf(entry))
            {
                Memory.AddMappingKeepRef(target); // undo: the mapping takes its reference back
            }
            else
            {
                Memory.AddMapping(target);
            }

            return true;
        }
    }

    private readonly record struct Mapping(AddressSpace Mm, Hva Hva);
}
