namespace Hypervisor.GuestModel.Scenarios;

/// <summary>How a guest's file-backed memslots are mapped in the VMM process.</summary>
public enum FileMapping
{
    /// <summary>An ordinary file: page-cache pages, written back and reclaimed.</summary>
    PageCache,

    /// <summary>
    /// Execute in place (<c>filemap_xip</c>, later DAX): no page cache; holes map the shared sparse page and a write
    /// gives a hole its block, unmapping the sparse page everywhere (<c>__xip_unmap</c>).
    /// </summary>
    Xip,

    /// <summary>
    /// <c>remap_file_pages</c> on every shared file slot: in the legacy profile the VMAs are nonlinear, so reclaim
    /// unmaps their pages by cluster (<c>try_to_unmap_cluster</c>); in the modern profile they stay linear (v4.0+).
    /// </summary>
    Nonlinear,
}
