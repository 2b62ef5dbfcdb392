namespace Hypervisor.Mirrors.Common;

/// <summary>The kind of secondary MMU, for statistics broken down by kind.</summary>
public enum ClientKind
{
    /// <summary>An HMM interval-notifier mirror (GPU/RDMA, lib/test_hmm.c's dmirror).</summary>
    HmmMirror,

    /// <summary>A GRU-like device TLB filled by drop-ins.</summary>
    GruTlb,

    /// <summary>An XPMEM-like export of a segment to importers, local or remote.</summary>
    XpmemExport,
}
