namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>
/// How the end of an invalidation (and the legacy <c>invalidate_page</c>) raises <c>mmu_invalidate_seq</c>: the
/// question of seeds/000 ("It doesn't even need to be atomic" / "Unless there is additional locking in your fault
/// path, I think it does need to be atomic"). The fault path reads it the same way in every mode.
/// </summary>
public enum SeqCounterMode
{
    /// <summary>
    /// The kernel's: a plain increment under <c>kvm-&gt;mmu_lock</c> held for write (<c>kvm_mmu_invalidate_end</c>);
    /// the lock serializes the writers and orders the increment before the count decrease.
    /// </summary>
    UnderLock = 0,

    /// <summary>An atomic increment (<c>atomic_inc</c>) before the MMU lock is taken: no update is lost.</summary>
    AtomicOutsideLock,

    /// <summary>
    /// A plain load and store before the MMU lock is taken: two ends running at once can lose an increment, and a
    /// fault that sampled the lost value installs a page freed meanwhile. A deliberately weak variant, measured.
    /// </summary>
    PlainOutsideLock,
}
