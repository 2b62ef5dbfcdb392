using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// <c>get_user_pages_fast</c> from a VMM thread: <c>gup_fast</c> without any lock, falling back to the locked
/// <c>get_user_pages</c> as the kernel does; each pinned page is read (so a page freed under the pin is caught) and put.
/// </summary>
public sealed class GupFastExecutor : IActivityExecutor
{
    public string Kind => "gup-fast";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (GupFastParameters)spec.Parameters;
        var memory = guest.Mm.Host.Memory;
        int fast = 0, slow = 0;
        var result = GuestRanges.ForEachPiece(guest, parameters.Range, null, (slot, _, _, first) =>
        {
            var pages = Math.Min(slot.EndPage - first, parameters.Range.Pages);
            for (var i = 0; i < parameters.Pages && !context.Control.StopRequested; i++)
            {
                var hva = slot.HvaOfPage(first + context.Random.NextInt64(pages));
                GupResult gup;
                if (guest.Mm.TryGetUserPageFast(hva, write: false, out gup))
                {
                    fast++;
                }
                else
                {
                    gup = guest.Mm.GetUserPages(hva, write: false);
                    if (gup.Status != HostStatus.Ok)
                    {
                        continue; // unmapped meanwhile (munmap-remap): nothing pinned
                    }

                    slow++;
                }

                _ = memory.Read(gup.Pfn, new AccessSite("gup-fast reader", -1, hva.PageNumber));
                memory.Put(gup.Pfn);
            }

            return HostStatus.Ok;
        });
        return $"{result} ({fast} lockless, {slow} locked)";
    }
}
