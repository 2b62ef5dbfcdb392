using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Ksm;

/// <summary>
/// Kernel same-page merging (<c>ksmd</c>): scans the private anonymous pages of registered address spaces
/// (<c>madvise(MADV_MERGEABLE)</c>) and makes pages with identical content share one write-protected KSM frame.
/// A later write to a merged page faults and copies (<c>do_wp_page</c> never reuses a KSM page), which
/// un-merges it and is counted as <see cref="HostCounter.KsmUnmerges"/>.
/// </summary>
/// <remarks>
/// Each pass keeps two tables by content: the stable one (KSM frames, one reference held each for the pass) and
/// the unstable one (the first ordinary page seen with that content). A second page with unstable content turns
/// the first into a KSM frame in place, then merges into it. Merging one page is two steps, as in
/// <c>try_to_merge_one_page</c>: write-protect (<c>write_protect_page</c>, a <see cref="NotifierEvent.ProtectionPage"/>
/// invalidation), then, with the content compared while nobody can write it, point the PTE at the KSM frame
/// (<c>replace_page</c>, a <see cref="NotifierEvent.Clear"/> invalidation) and free the duplicate afterwards.
/// Only pages mapped once and not pinned are merged (a pin could be a write in flight).
/// </remarks>
public sealed class KsmScanner
{
    private readonly HostSystem _host;

    // Guards _registered.
    private readonly ProtocolLock _registeredLock = new("ksm_mmlist_lock");
    private readonly List<AddressSpace> _registered = [];

    public KsmScanner(HostSystem host, bool scanAllSpaces = false)
    {
        _host = host;
        ScanAllSpaces = scanAllSpaces;
    }

    /// <summary>Treat every live address space as registered.</summary>
    public bool ScanAllSpaces { get; }

    private PhysicalMemory Memory => _host.Memory;

    /// <summary><c>madvise(MADV_MERGEABLE)</c> on all of <paramref name="mm"/>'s private anonymous memory.</summary>
    public void Register(AddressSpace mm)
    {
        using (_registeredLock.EnterScope())
        {
            if (!_registered.Contains(mm))
            {
                _registered.Add(mm);
            }
        }
    }

    public void Unregister(AddressSpace mm)
    {
        using (_registeredLock.EnterScope())
        {
            _registered.Remove(mm);
        }
    }

    /// <summary>One full scan of every registered address space.</summary>
    public KsmResult KsmPass()
    {
        var pass = new PassState();
        try
        {
            foreach (var mm in Spaces())
            {
                ScanSpace(mm, pass);
            }
        }
        finally
        {
            foreach (var ksmPage in pass.Stable.Values)
            {
                Memory.Put(ksmPage);
            }
        }

        return new KsmResult(pass.Scanned, pass.Merged, pass.StableCreated, pass.SkippedSpaces);
    }

    private List<AddressSpace> Spaces()
    {
        var live = _host.LiveAddressSpaces();
        if (ScanAllSpaces)
        {
            return [.. live];
        }

        using (_registeredLock.EnterScope())
        {
            _registered.RemoveAll(mm => mm.IsDead);
            return [.. _registered];
        }
    }

    private void ScanSpace(AddressSpace mm, PassState pass)
    {
        if (!mm.TryEnterScan(out var scope))
        {
            pass.SkippedSpaces++;
            return;
        }

        using (scope)
        {
            if (mm.IsDead)
            {
                return;
            }

            foreach (var vma in mm.VmasLocked)
            {
                if (vma.Kind != VmaKind.AnonymousPrivate)
                {
                    continue;
                }

                for (var walk = new TableWalk(mm.PageTable, vma.Start.PageNumber, vma.End.PageNumber); walk.MoveNext();)
                {
                    Snapshot(walk.Table, walk.BaseVpn, walk.From, walk.To, pass);
                    foreach (var candidate in pass.Candidates)
                    {
                        var page = new Candidate(mm, walk.Table, candidate.Entry, Hva.FromPage(walk.BaseVpn + (ulong)candidate.Entry),
                            candidate.Pfn, candidate.Content);
                        Consider(page, pass);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Under the page-table lock (the mappings keep the frames alive, so their content may be read): the merge
    /// candidates of one table, and a reference on every KSM frame whose content is new to the stable table.
    /// </summary>
    private void Snapshot(PteTable table, ulong baseVpn, int from, int to, PassState pass)
    {
        pass.Candidates.Clear();
        using (table.Ptl.Enter())
        {
            for (var j = from; j < to; j++)
            {
                var pte = table.Slots[j];
                if (!Pte.IsPresent(pte) || Pte.PfnOf(pte).IsZeroPage)
                {
                    continue;
                }

                var pfn = Pte.PfnOf(pte);
                var state = Memory.StateOf(pfn);
                var flags = FrameState.Flags(state);
                if ((flags & FrameFlags.Anon) == 0)
                {
                    continue;
                }

                var content = Memory.Read(pfn, new AccessSite("ksm", -1, baseVpn + (ulong)j));
                if ((flags & FrameFlags.Ksm) != 0)
                {
                    if (pass.Stable.TryAdd(content, pfn))
                    {
                        Memory.Get(pfn);
                    }
                }
                else if (FrameState.MapCount(state) == 1 && FrameState.RefCount(state) == 1)
                {
                    pass.Scanned++;
                    pass.Candidates.Add(new Snap(j, pfn, content));
                }
            }
        }
    }

    private void Consider(Candidate page, PassState pass)
    {
        if (pass.Stable.TryGetValue(page.Content, out var ksmPage))
        {
            if (ksmPage != page.Pfn && Merge(page, ksmPage))
            {
                pass.Merged++;
            }

            return;
        }

        if (pass.Unstable.Remove(page.Content, out var first) && first.Pfn != page.Pfn && Stabilize(first, pass))
        {
            if (Merge(page, first.Pfn))
            {
                pass.Merged++;
            }

            return;
        }

        pass.Unstable[page.Content] = page;
    }

    /// <summary>
    /// Turns <paramref name="page"/> into a KSM frame in place: write-protect it and set <see cref="FrameFlags.Ksm"/>
    /// in the same page-table-lock section, so no write can reuse it in between.
    /// </summary>
    private bool Stabilize(Candidate page, PassState pass)
    {
        if (!page.Mm.TryEnterScan(out var scope))
        {
            return false;
        }

        using (scope)
        {
            var inv = new PageInvalidation(page.Mm, page.Hva, NotifierEvent.ProtectionPage, InvalidationCause.KsmMerge);
            if (page.Mm.IsDead || !inv.Start())
            {
                return false;
            }

            var changed = false;
            using (page.Table.Ptl.Enter())
            {
                var pte = page.Table.Slots[page.Entry];
                if (IsExclusive(pte, page.Pfn) && Memory.Read(page.Pfn, new AccessSite("ksm", -1, page.Hva.PageNumber)) == page.Content)
                {
                    WriteProtect(page, pte);
                    Memory.SetFlags(page.Pfn, FrameFlags.Ksm);
                    Memory.Get(page.Pfn); // the stable table's reference for the rest of the pass
                    pass.Stable[page.Content] = page.Pfn;
                    changed = true;
                }
            }

            inv.AfterPteChange(changed);
            inv.End();
            inv.AfterFree(changed);
            if (changed)
            {
                pass.StableCreated++;
            }

            return changed;
        }
    }

    /// <summary>Write-protect <paramref name="page"/>, compare, then point its PTE at <paramref name="ksmPage"/> and free the duplicate.</summary>
    private bool Merge(Candidate page, Pfn ksmPage)
    {
        // Step 1, write_protect_page: after it no CPU and no secondary can write the page without faulting.
        var protect = new PageInvalidation(page.Mm, page.Hva, NotifierEvent.ProtectionPage, InvalidationCause.KsmMerge);
        if (!protect.Start())
        {
            return false;
        }

        ulong readOnly = 0;
        using (page.Table.Ptl.Enter())
        {
            var pte = page.Table.Slots[page.Entry];
            if (IsExclusive(pte, page.Pfn))
            {
                readOnly = WriteProtect(page, pte);
            }
        }

        protect.AfterPteChange(readOnly != 0);
        protect.End();
        protect.AfterFree(readOnly != 0);
        if (readOnly == 0)
        {
            return false;
        }

        // Step 2, replace_page: the content is stable now; merge only if it still matches.
        var replace = new PageInvalidation(page.Mm, page.Hva, NotifierEvent.Clear, InvalidationCause.KsmMerge);
        if (!replace.Start())
        {
            return false;
        }

        var replaced = false;
        using (page.Table.Ptl.Enter())
        {
            if (page.Table.Slots[page.Entry] == readOnly && Memory.RefCount(page.Pfn) == 1
                && Memory.Read(page.Pfn, new AccessSite("ksm", -1, page.Hva.PageNumber)) == Memory.Read(ksmPage, new AccessSite("ksm", -1, page.Hva.PageNumber)))
            {
                Volatile.Write(ref page.Table.Slots[page.Entry], Pte.Make(ksmPage, readOnly & Pte.Accessed));
                Memory.AddMapping(ksmPage);
                Memory.RemoveMapping(page.Pfn);
                replaced = true;
            }
        }

        replace.AfterPteChange(replaced);
        replace.End();
        if (replaced)
        {
            Memory.Put(page.Pfn); // the duplicate, freed after every secondary dropped it
            _host.Count(HostCounter.KsmMerges);
        }

        replace.AfterFree(replaced);
        return replaced;
    }

    /// <summary>Still mapping <paramref name="pfn"/>, which is an ordinary anonymous page mapped once and not pinned.</summary>
    private bool IsExclusive(ulong pte, Pfn pfn)
    {
        if (!Pte.IsPresent(pte) || Pte.PfnOf(pte) != pfn)
        {
            return false;
        }

        var state = Memory.StateOf(pfn);
        return (FrameState.Flags(state) & (FrameFlags.Anon | FrameFlags.Ksm)) == FrameFlags.Anon
            && FrameState.MapCount(state) == 1 && FrameState.RefCount(state) == 1;
    }

    /// <summary>Clears the write bit under the page-table lock, moving the dirty bit to the frame. Returns the new PTE.</summary>
    private ulong WriteProtect(Candidate page, ulong pte)
    {
        if ((pte & Pte.Dirty) != 0)
        {
            Memory.MarkDirty(page.Pfn);
        }

        var readOnly = pte & ~(Pte.Writable | Pte.Dirty);
        Volatile.Write(ref page.Table.Slots[page.Entry], readOnly);
        return readOnly;
    }

    private readonly record struct Snap(int Entry, Pfn Pfn, ulong Content);

    private readonly record struct Candidate(AddressSpace Mm, PteTable Table, int Entry, Hva Hva, Pfn Pfn, ulong Content);

    private sealed class PassState
    {
        public long Scanned;
        public long Merged;
        public long StableCreated;
        public int SkippedSpaces;

        public Dictionary<ulong, Pfn> Stable { get; } = [];

        public Dictionary<ulong, Candidate> Unstable { get; } = [];

        public List<Snap> Candidates { get; } = [];
    }
}
