using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>Helpers shared by the executors that act on a range of guest memory.</summary>
internal static class GuestRanges
{
    public static GuestInstance RequireGuest(ActivityContext context, ActivitySpec spec) =>
        context.Guest(spec) ?? throw new InvalidOperationException($"activity '{spec.Kind}' names no running guest");

    /// <summary>
    /// Runs <paramref name="action"/> on each memslot piece of <paramref name="range"/>, announcing it to the oracle
    /// as a host event of <paramref name="kind"/> (when given) before it starts and completing it after.
    /// </summary>
    public static string ForEachPiece(GuestInstance guest, GuestRange range, HostEventKind? kind,
        Func<SlotLayout, Hva, ulong, long, HostStatus> action)
    {
        var statuses = new List<HostStatus>();
        foreach (var (slot, first, end) in guest.Pieces(range.FirstPage, range.FirstPage + range.Pages))
        {
            var e = kind is { } k ? guest.Oracle.BeginEvent(k, first, end) : null;
            try
            {
                statuses.Add(action(slot, slot.HvaOfPage(first), (ulong)(end - first) * Hva.PageSize, first));
            }
            finally
            {
                if (e is not null)
                {
                    guest.Oracle.EndEvent(e);
                }
            }
        }

        return statuses.Count == 0 ? "no memslot in range" : string.Join(",", statuses.Distinct());
    }
}
