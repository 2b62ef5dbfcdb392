namespace Hypervisor.GuestModel.Scenarios;

/// <summary>A page-aligned range of guest-physical memory, in bytes, that an activity acts on.</summary>
/// <param name="Offset">Guest-physical start, page-aligned.</param>
/// <param name="Size">Length, a positive multiple of the page size.</param>
public readonly record struct GuestRange(long Offset, long Size)
{
    /// <summary>The first byte after the range.</summary>
    public long End => Offset + Size;

    /// <summary>The first guest page of the range.</summary>
    public long FirstPage => Offset / ScenarioUnits.PageSize;

    /// <summary>The number of pages in the range.</summary>
    public long Pages => Size / ScenarioUnits.PageSize;

    /// <summary>The range as <c>[offset, end)</c> in size notation.</summary>
    public override string ToString() => $"[{ScenarioUnits.FormatSize(Offset)}, {ScenarioUnits.FormatSize(End)})";
}
