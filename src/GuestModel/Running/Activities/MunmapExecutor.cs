using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// A plain <c>munmap</c> of a range of guest RAM that is never mapped again (a VMM shrinking guest memory behind a
/// memslot): <c>unmap_region</c> invalidates it, and from then on the memslot's hva has no VMA, so a guest access
/// there fails in <c>hva_to_pfn</c> and exits to the VMM. Once unmapped, a later firing finds nothing to unmap.
/// </summary>
public sealed class MunmapExecutor : IActivityExecutor
{
    public string Kind => "munmap";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var range = ((MunmapParameters)spec.Parameters).Range;
        return GuestRanges.ForEachPiece(guest, range, HostEventKind.Discard,
            (_, hva, length, _) => guest.AfterOperation(guest.Mm.Munmap(hva, length), hva, length));
    }
}
