using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// The results of one activity over a run: firings, pages covered, time inside firings, the last outcome. Written only
/// by the activity's own thread; read once that thread has been joined.
/// </summary>
internal sealed class ActivityTally(int index, ActivitySpec spec)
{
    private long _firings;
    private long _pages;
    private TimeSpan _time;
    private string? _lastOutcome;

    /// <summary>Records one firing that took <paramref name="took"/> on <paramref name="guest"/> (null for host-wide kinds).</summary>
    public void Fired(GuestInstance? guest, TimeSpan took, string outcome)
    {
        _firings++;
        _time += took;
        _lastOutcome = outcome;
        if (guest is not null && spec.Parameters is IRangeParameters { Range: var range })
        {
            // The pages of the range that memslots back: what the firing could act on.
            _pages += guest.Pieces(range.FirstPage, range.FirstPage + range.Pages).Sum(p => p.EndPage - p.FirstPage);
        }
    }

    public ActivitySummary Summarize() =>
        new(index, spec.Kind, spec.Guest, _firings, _pages, Math.Round(_time.TotalSeconds, 6), _lastOutcome);
}
