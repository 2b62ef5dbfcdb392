namespace Hypervisor.GuestModel.Summary;

/// <summary>What one activity of the scenario did over the run.</summary>
/// <param name="Index">Its position in the scenario's <c>activities</c> list.</param>
/// <param name="Kind">Its kind, as in scenario files.</param>
/// <param name="Guest">The guest it acts on; null for a host-wide kind.</param>
/// <param name="Firings">Firings completed.</param>
/// <param name="Pages">Guest pages its firings covered (range kinds: the range's pages within memslots, per firing; 0 for other kinds).</param>
/// <param name="Seconds">Time spent inside its firings, summed.</param>
/// <param name="LastOutcome">The last firing's outcome, as logged; null if it never fired.</param>
public sealed record ActivitySummary(int Index, string Kind, string? Guest, long Firings, long Pages, double Seconds, string? LastOutcome);
