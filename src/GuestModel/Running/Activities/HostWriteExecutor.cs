using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>The VMM writes into guest RAM through its own mapping (device emulation, DMA).</summary>
public sealed class HostWriteExecutor : IActivityExecutor
{
    public string Kind => "host-write";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (HostWriteParameters)spec.Parameters;
        var done = 0;
        var result = GuestRanges.ForEachPiece(guest, parameters.Range, HostEventKind.HostWrite, (slot, _, _, first) =>
        {
            var pages = slot.EndPage - first;
            for (var i = 0; i < parameters.Writes && !context.Control.StopRequested; i++)
            {
                var page = first + context.Random.NextInt64(Math.Min(pages, parameters.Range.Pages));
                if (slot.Spec.ReadOnly)
                {
                    continue;
                }

                if (guest.Mm.HostWrite(slot.HvaOfPage(page), guest.Oracle.NextHostValue(page)) == HostStatus.Ok)
                {
                    done++;
                }
            }

            return HostStatus.Ok;
        });
        return $"{result} ({done} writes)";
    }
}
