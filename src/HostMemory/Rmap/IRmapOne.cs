using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// <c>rmap_walk_control.rmap_one</c>: called by <see cref="RmapWalk"/> for each VMA that may map the page, at the
/// address it would map it, with the owner's rmap lock held for read and no page-table lock. Returns false to stop
/// the walk (<c>rmap_one</c> returning false, or <c>done()</c>).
/// </summary>
internal interface IRmapOne
{
    bool Visit(Vma vma, Hva address);
}
