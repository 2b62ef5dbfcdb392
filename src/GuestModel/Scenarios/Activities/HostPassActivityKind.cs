namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>
/// A host-wide memory-management pass (aging, reclaim, writeback, migration, KSM): not tied to one guest, with an
/// optional page count for the kinds that work on a number of pages.
/// </summary>
public sealed class HostPassActivityKind(string name, int? defaultPages) : IActivityKind
{
    public string Name => name;

    public bool NeedsGuest => false;

    public ActivityParameters Parse(ParameterReader reader) =>
        new HostPassParameters(defaultPages is { } pages ? reader.Int("pages", pages, min: 1) : 0);
}
