using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// <c>munmap</c> of a range of guest RAM, a pause, then <c>mmap(MAP_FIXED)</c> of the same backing at the same
/// address (a VMM replacing guest memory under running vCPUs).
/// </summary>
public sealed class MunmapRemapExecutor : IActivityExecutor
{
    public string Kind => "munmap-remap";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (MunmapRemapParameters)spec.Parameters;
        return GuestRanges.ForEachPiece(guest, parameters.Range, HostEventKind.Discard, (slot, hva, length, first) =>
        {
            var unmapped = guest.Mm.Munmap(hva, length);
            if (unmapped != HostStatus.Ok)
            {
                return unmapped;
            }

            guest.AfterOperation(hva, length);

            context.Control.Sleep(parameters.Gap);
            var protection = slot.Spec.ReadOnly ? Protection.Read : Protection.ReadWrite;
            return guest.Mm.MmapFixed(hva, length, slot.Spec.Backing, protection, slot.File, first - slot.FirstPage);
        });
    }
}
