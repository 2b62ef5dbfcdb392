using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>Unregisters the guest's MMU notifier, waits, and registers a fresh one.</summary>
public sealed class NotifierReregisterExecutor : IActivityExecutor
{
    public string Kind => "notifier-reregister";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        guest.Vm.DetachNotifier();
        context.Control.Sleep(((NotifierReregisterParameters)spec.Parameters).Pause);
        return guest.Vm.ReattachNotifier() ? "re-registered" : "address space gone";
    }
}
