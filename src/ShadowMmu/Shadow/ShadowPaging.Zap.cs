using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// Zapping: leaf SPTEs through the reverse map (the notifier's <c>kvm_zap_rmap</c>), whole shadow pages in two
/// steps (<c>kvm_mmu_prepare_zap_page</c>, then <c>kvm_mmu_commit_zap_page</c>, which flushes the remote TLBs before
/// the pages are freed), and aging through the reverse map.
/// </summary>
public sealed partial class ShadowPaging
{
    /// <summary>
    /// <c>kvm_unmap_gfn_range</c> → <c>kvm_handle_gfn_range(kvm_zap_rmap)</c>: clears every leaf SPTE mapping a gfn in
    /// [start, end), whichever guest virtual page, process or role it belongs to, passing A/D bits to the host frames.
    /// The caller (the VM's notifier handler) holds the MMU write lock and flushes if anything was zapped.
    /// </summary>
    internal void ZapRmapRange(ulong start, ulong end, ref VirtualMachine.ZapState state)
    {
        AssertWriteLocked("the notifier zaps through the reverse map under the MMU write lock");
        var oneAlias = (_mutations & ShadowMutations.RmapZapsOneAlias) != 0;
        end = Math.Min(end, Tables.Pages);
        for (var gfn = start; gfn < end; gfn++)
        {
            var count = Rmap.CountOf(gfn);
            // kvm_zap_all_rmap_sptes empties the whole chain; the broken variant stops after the first entry.
            for (var k = count - 1; k >= (oneAlias ? count - 1 : 0) && k >= 0; k--)
            {
                var (id, index) = Rmap.EntryAt(gfn, k);
                var sp = Pages.Get(id);
                VirtualMachine.ZapSpte(ref sp.Spt[index], ref state);
                Rmap.Remove(gfn, sp, index);
            }
        }
    }

    /// <summary>
    /// <c>kvm_age_rmap</c> / <c>kvm_test_age_rmap</c>: true if a leaf SPTE mapping a gfn in [start, end) was accessed;
    /// clears the accessed bits when <paramref name="clear"/>. Caller holds the MMU lock (read is enough: the reverse
    /// map changes only under the write lock, and the bits are cleared by compare-exchange).
    /// </summary>
    internal bool AgeRmapRange(ulong start, ulong end, bool clear)
    {
        var found = false;
        end = Math.Min(end, Tables.Pages);
        for (var gfn = start; gfn < end; gfn++)
        {
            for (var k = Rmap.CountOf(gfn) - 1; k >= 0; k--)
            {
                var (id, index) = Rmap.EntryAt(gfn, k);
                ref var entry = ref Pages.Get(id).Spt[index];
                var spte = Volatile.Read(ref entry);
                if (!Spte.IsPresent(spte) || (spte & Spte.Accessed) == 0)
                {
                    continue;
                }

                found = true;
                if (clear)
                {
                    Interlocked.CompareExchange(ref entry, spte & ~Spte.Accessed, spte);
                }
            }
        }

        return found;
    }

    /// <summary>
    /// <c>drop_spte</c>: clears one leaf SPTE (A/D to the host frame, as a notifier zap does) and its reverse-map
    /// entry. Returns the old SPTE, 0 if it was not present. Caller holds the write lock and flushes.
    /// </summary>
    private ulong DropLeafSpte(ShadowPage sp, int index)
    {
        var state = new VirtualMachine.ZapState(_vm.AddressSpace.Host.Memory, _mutations);
        var old = VirtualMachine.ZapSpte(ref sp.Spt[index], ref state);
        if (old != 0 && !Rmap.Remove(sp.Gfns![index], sp, index))
        {
            Report(ShadowViolations.RmapMismatch, -1, sp.Gfns[index], $"{sp} index {index} mapped a gfn its reverse map did not list");
        }

        return old;
    }

    /// <summary><c>drop_parent_pte</c> / <c>mmu_page_zap_pte</c> on a non-leaf entry: unlink the child. True if one was linked.</summary>
    private static bool UnlinkChild(ShadowPage parent, int index)
    {
        var child = Volatile.Read(ref parent.Children![index]);
        Volatile.Write(ref parent.Spt[index], 0UL);
        if (child is null)
        {
            return false;
        }

        Volatile.Write(ref parent.Children[index], null);
        child.RemoveParent(parent, index);
        return true;
    }

    /// <summary>
    /// <c>mmu_page_zap_pte</c>: clears entry <paramref name="index"/> of <paramref name="sp"/>, leaf or not. True if it
    /// was present (the caller must flush).
    /// </summary>
    private bool ZapEntry(ShadowPage sp, int index) => sp.Level == 1 ? DropLeafSpte(sp, index) != 0 : UnlinkChild(sp, index);

    /// <summary>
    /// <c>kvm_mmu_prepare_zap_page</c>: unlink the page's children (dropping its leaf SPTEs and their reverse-map
    /// entries), unlink it from its parents, drop its write tracking, unhash it and mark it invalid. A page no root
    /// uses goes on the invalid list, to be freed by <see cref="CommitZap"/> after the flush; a root waits for its
    /// last user (<c>mmu_free_root_page</c>). Caller holds the MMU write lock.
    /// </summary>
    internal void PrepareZap(ShadowPage sp)
    {
        AssertWriteLocked("shadow pages are zapped under the MMU write lock");
        if (sp.Invalid)
        {
            return;
        }

        for (var i = 0; i < Gpte.Entries; i++)
        {
            _pendingFlush |= ZapEntry(sp, i);
        }

        foreach (var (parent, index) in sp.Parents.ToList())
        {
            _pendingFlush |= UnlinkChild(parent, index);
        }

        if (sp.Accounted && !Track.RemoveTrack(sp.Gfn))
        {
            Report(ShadowViolations.RmapMismatch, -1, sp.Gfn, $"{sp}: write-track count already zero at unaccount_shadowed");
        }

        sp.Accounted = false;
        Pages.Unhash(sp);
        sp.Invalid = true;
        Stats.PageZapped();
        if (sp.RootCount == 0)
        {
            _invalid.Add(sp);
        }
    }

    /// <summary>
    /// <c>kvm_mmu_commit_zap_page</c> (and <c>kvm_mmu_remote_flush_or_zap</c>): flush the remote TLBs, which waits for
    /// every vCPU in guest mode, then free the pages on the invalid list. Flushes also with an empty list when
    /// <paramref name="flush"/> says an SPTE was cleared. Caller holds the MMU write lock.
    /// </summary>
    private void CommitZap(bool flush)
    {
        if (_invalid.Count == 0 && !flush && !_pendingFlush)
        {
            return;
        }

        _pendingFlush = false;
        _vm.FlushRemoteTlbs();
        foreach (var sp in _invalid)
        {
            sp.MarkFreed();
            Pages.Release(sp);
        }

        _invalid.Clear();
    }

    /// <summary><c>kvm_mmu_zap_all</c> (release): every shadow page goes. Caller holds the MMU write lock.</summary>
    internal void ZapAll()
    {
        foreach (var sp in Pages.All())
        {
            PrepareZap(sp);
        }

        CommitZap(flush: true);
    }

    /// <summary>
    /// <c>kvm_mmu_unprotect_page</c> (and the write-flooding / misaligned-write zap of <c>kvm_mmu_track_write</c>):
    /// every shadow page of <paramref name="gfn"/> is zapped. Caller holds the MMU write lock.
    /// </summary>
    private void ZapPagesOfGfn(ulong gfn)
    {
        foreach (var sp in Pages.OfGfn(gfn))
        {
            PrepareZap(sp);
        }

        CommitZap(flush: false);
    }
}
