using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// The OOM reaper reaps the named guest's VMM with non-blockable invalidations; a range a notifier refuses is left
/// for a later attempt, as the kernel's reaper does. The guest's vCPUs then find their VM dead.
/// </summary>
public sealed class OomExecutor : IActivityExecutor
{
    public string Kind => "oom";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var victim = GuestRanges.RequireGuest(context, spec);
        foreach (var guest in context.Guests.Where(g => g != victim))
        {
            context.Memory.ProtectFromOom(guest.Mm);
        }

        var result = context.Memory.OomReapOnce();
        for (var retry = 0; retry < 50 && !result.Completed && !context.Control.StopRequested; retry++)
        {
            context.Control.Sleep(TimeSpan.FromMilliseconds(2));
            result = context.Memory.OomReapOnce();
        }

        return result.ToString();
    }
}
