namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Extra constraints on a size read by <see cref="ParameterReader"/>; sizes are never negative.</summary>
[Flags]
public enum SizeRules
{
    /// <summary>Any size &gt;= 0.</summary>
    None = 0,

    /// <summary>The size must be &gt; 0.</summary>
    Positive = 1,

    /// <summary>The size must be a multiple of <see cref="ScenarioUnits.PageSize"/>.</summary>
    PageAligned = 2,

    /// <summary>Both: a positive whole number of pages (guest memory, memslot sizes).</summary>
    PositivePages = Positive | PageAligned,
}
