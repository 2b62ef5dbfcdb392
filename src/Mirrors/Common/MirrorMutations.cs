namespace Hypervisor.Mirrors.Common;

/// <summary>
/// Deliberately broken variants of the non-KVM secondary MMUs, selected by options. Each exists so that a test can
/// show the checker catches it.
/// </summary>
[Flags]
public enum MirrorMutations
{
    None = 0,

    /// <summary><c>hmm-no-set-seq</c>: the HMM mirror's invalidate drops its entries but does not call
    /// <c>mmu_interval_set_seq</c>, so a fault whose snapshot predates the invalidation installs it anyway.</summary>
    HmmNoSetSeq = 1 << 0,

    /// <summary><c>gru-no-purge</c>: the GRU's invalidation neither purges its TLB nor kills dropins in flight.</summary>
    GruNoPurge = 1 << 1,

    /// <summary><c>xpmem-no-ack-wait</c>: XPMEM sends the remote purges and returns without waiting for the
    /// acknowledgements, so an unpinned remote mapping outlives the page.</summary>
    XpmemNoAckWait = 1 << 2,

    /// <summary><c>xpmem-no-seq-check</c>: the modern driver as it is: a fault installs the page it pinned even if an
    /// invalidation of that page ran between the pin and the install (no sequence check).</summary>
    XpmemNoSeqCheck = 1 << 3,

    /// <summary><c>hmm-skip-when-busy</c>: the HMM mirror's non-blockable invalidate, finding the device busy, returns
    /// true without dropping its entries instead of refusing (<c>-EAGAIN</c>), so the OOM reaper frees pages the
    /// device still maps.</summary>
    HmmSkipWhenBusy = 1 << 4,
}
