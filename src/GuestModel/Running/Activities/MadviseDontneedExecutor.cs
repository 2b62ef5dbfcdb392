using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary><c>madvise(MADV_DONTNEED)</c> over a range of guest RAM (a balloon returning pages, say).</summary>
public sealed class MadviseDontneedExecutor : IActivityExecutor
{
    public string Kind => "madvise-dontneed";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var range = ((MadviseDontneedParameters)spec.Parameters).Range;
        return GuestRanges.ForEachPiece(guest, range, HostEventKind.Discard,
            (_, hva, length, _) => guest.AfterOperation(guest.Mm.MadviseDontNeed(hva, length), hva, length));
    }
}
