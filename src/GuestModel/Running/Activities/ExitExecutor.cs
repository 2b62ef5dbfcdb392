using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>The guest's VMM process exits: release, then every page freed; the vCPUs see a dead VM.</summary>
public sealed class ExitExecutor : IActivityExecutor
{
    public string Kind => "exit";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        if (guest.Mm.IsDead)
        {
            return "already exited";
        }

        guest.Mm.Exit();
        return "exited";
    }
}
