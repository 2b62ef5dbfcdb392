using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary><c>mprotect</c> a range read-only while the vCPUs write, then back to read-write.</summary>
public sealed class MprotectExecutor : IActivityExecutor
{
    public string Kind => "mprotect";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (MprotectParameters)spec.Parameters;
        var down = GuestRanges.ForEachPiece(guest, parameters.Range, null, (slot, hva, length, _) =>
            slot.Spec.ReadOnly ? HostStatus.Ok : guest.AfterOperation(guest.Mm.Mprotect(hva, length, Protection.Read), hva, length));
        context.Control.Sleep(parameters.ReadOnlyFor);
        var up = GuestRanges.ForEachPiece(guest, parameters.Range, null, (slot, hva, length, _) =>
            slot.Spec.ReadOnly ? HostStatus.Ok : guest.AfterOperation(guest.Mm.Mprotect(hva, length, Protection.ReadWrite), hva, length));
        return $"{down}/{up}";
    }
}
