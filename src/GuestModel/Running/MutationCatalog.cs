using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.Mirrors.Common;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Running;

/// <summary>The broken protocol variants selectable by name (<c>--mutation NAME</c>).</summary>
public static class MutationCatalog
{
    private static readonly Dictionary<string, Mutation> ByName = new(StringComparer.Ordinal)
    {
        ["no-seq-check"] = new(ShadowMutations.NoSeqCheck, HostMutations.None, null),
        ["no-in-progress-check"] = new(ShadowMutations.NoInProgressCheck, HostMutations.None, null),
        ["seq-after-gup"] = new(ShadowMutations.SeqAfterGup, HostMutations.None, null),
        ["no-tlb-flush"] = new(ShadowMutations.NoTlbFlush, HostMutations.None, null),
        ["no-zap"] = new(ShadowMutations.NoZap, HostMutations.None, null),
        ["no-dirty-propagation"] = new(ShadowMutations.NoDirtyPropagation, HostMutations.None, null),
        ["no-young-propagation"] = new(ShadowMutations.NoYoungPropagation, HostMutations.None, null),
        ["end-order-swapped"] = new(ShadowMutations.EndOrderSwapped, HostMutations.None, null),
        // Broken variants of shadow paging; they matter only for guests with mmu: shadow.
        ["no-gpt-write-protect"] = new(ShadowMutations.NoGptWriteProtect, HostMutations.None, null),
        ["rmap-zaps-one-alias"] = new(ShadowMutations.RmapZapsOneAlias, HostMutations.None, null),
        ["no-invlpg-flush"] = new(ShadowMutations.NoInvlpgFlush, HostMutations.None, null),
        // Matters only where two memslots map one host range (aliasOf, aliased-memslots.yaml).
        ["hva-range-first-slot-only"] = new(ShadowMutations.HvaRangeFirstSlotOnly, HostMutations.None, null),
        ["register-without-pin"] = new(ShadowMutations.None, HostMutations.RegisterWithoutPin, null),
        ["no-release"] = new(ShadowMutations.None, HostMutations.NoRelease, null),
        ["unregister-without-wait"] = new(ShadowMutations.None, HostMutations.UnregisterWithoutWait, null),
        ["free-before-invalidate"] = new(ShadowMutations.None, HostMutations.FreeBeforeInvalidate, null),
        ["table-free-before-flush"] = new(ShadowMutations.None, HostMutations.TableFreeBeforeFlush, null),
        ["rmap-walk-without-ptl"] = new(ShadowMutations.None, HostMutations.RmapWalkWithoutPtl, null),
        // Lockless walkers exist only where a scenario turns gup_fast on (lockless-walkers.yaml).
        ["table-free-no-sync"] = new(ShadowMutations.None, HostMutations.TableFreeNoSync, null),
        // The missing barrier exists only where walkers count themselves: it forces that table-free scheme.
        ["walker-counter-no-barrier"] = new(ShadowMutations.None, HostMutations.WalkerCounterNoBarrier, null)
        {
            ForcedTableFree = TableFreeScheme.WalkerCounter,
        },
        // Transparent huge pages exist only for guests with thp: always or madvise (thp-churn.yaml).
        ["thp-split-no-notify"] = new(ShadowMutations.None, HostMutations.ThpSplitNoNotify, null),
        // A partial range over a huge SPTE comes from the legacy single-address invalidate_page of a huge page: it forces
        // that profile.
        ["huge-spte-partial-zap"] = new(ShadowMutations.HugeSptePartialZap, HostMutations.None, NotifierProfile.Legacy2008),
        ["xip-unmap-without-notify"] = new(ShadowMutations.None, HostMutations.XipUnmapWithoutNotify, null),
        // Nonlinear VMAs, and so try_to_unmap_cluster, exist only in the legacy profile.
        ["cluster-range-one-page"] = new(ShadowMutations.None, HostMutations.ClusterRangeOnePage, NotifierProfile.Legacy2008),
        // Migration never takes the mmap lock: fork and mprotect meet its entries and must downgrade them.
        ["fork-keeps-writable-migration-entry"] = new(ShadowMutations.None, HostMutations.ForkKeepsWritableMigrationEntry, null),
        ["mprotect-keeps-writable-migration-entry"] = new(ShadowMutations.None, HostMutations.MprotectKeepsWritableMigrationEntry, null),
        // The ordering bug only exists where invalidate_page does: it forces the legacy profile.
        ["legacy-invalidate-after-free"] = new(ShadowMutations.None, HostMutations.LegacyInvalidateAfterFree, NotifierProfile.Legacy2008),
        // Broken variants of the other secondary MMUs; they matter only in scenarios that declare such clients.
        ["hmm-no-set-seq"] = new(ShadowMutations.None, HostMutations.None, null, MirrorMutations.HmmNoSetSeq),
        ["gru-no-purge"] = new(ShadowMutations.None, HostMutations.None, null, MirrorMutations.GruNoPurge),
        ["xpmem-no-ack-wait"] = new(ShadowMutations.None, HostMutations.None, null, MirrorMutations.XpmemNoAckWait),
        ["xpmem-no-seq-check"] = new(ShadowMutations.None, HostMutations.None, null, MirrorMutations.XpmemNoSeqCheck),
        ["hmm-skip-when-busy"] = new(ShadowMutations.None, HostMutations.None, null, MirrorMutations.HmmSkipWhenBusy),
    };

    /// <summary>Every mutation name, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. ByName.Keys.Order(StringComparer.Ordinal)];

    public static bool TryParse(string? name, out Mutation mutation)
    {
        if (string.IsNullOrEmpty(name))
        {
            mutation = Mutation.None;
            return true;
        }

        return ByName.TryGetValue(name, out mutation!);
    }

    /// <summary>A broken variant: which side it breaks and, if it needs one, the notifier profile it forces.</summary>
    public sealed record Mutation(ShadowMutations Shadow, HostMutations Host, NotifierProfile? ForcedProfile,
        MirrorMutations Mirror = MirrorMutations.None)
    {
        /// <summary>The table-free scheme the variant needs, overriding the scenario's; null keeps it.</summary>
        public TableFreeScheme? ForcedTableFree { get; init; }

        public static readonly Mutation None = new(ShadowMutations.None, HostMutations.None, null);
    }
}
