namespace Hypervisor.HostMemory.Rmap;

/// <summary>How an <see cref="RmapWalk"/> ended.</summary>
public enum RmapWalkStatus
{
    /// <summary>Every VMA that may map the page was visited (or the visitor stopped the walk).</summary>
    Walked,
    /// <summary>The page has no reverse map: not mapped any more, or its owner was freed (<c>folio_mapped</c> false).</summary>
    NotMapped,
    /// <summary>A try-lock walk found the rmap lock held (<c>rwc-&gt;contended</c>): nothing was visited.</summary>
    Contended,
}
