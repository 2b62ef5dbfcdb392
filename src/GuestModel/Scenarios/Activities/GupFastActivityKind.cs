namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>
/// <c>gup-fast</c>: a VMM thread pins pages of guest RAM with <c>get_user_pages_fast</c> (direct I/O, vhost): the
/// lockless walk first, the locked GUP when it gives up; it reads each page and unpins it.
/// </summary>
public sealed class GupFastActivityKind : IActivityKind
{
    /// <inheritdoc/>
    public string Name => "gup-fast";

    /// <inheritdoc/>
    public ActivityParameters Parse(ParameterReader reader) =>
        new GupFastParameters(GuestRangeReader.Read(reader), reader.Int("pages", 256, min: 1, max: 1 << 20));
}

/// <summary>Parameters of <c>gup-fast</c>.</summary>
/// <param name="Range">The guest-physical range the pages are picked from (uniformly).</param>
/// <param name="Pages">Pages pinned per firing.</param>
public sealed record GupFastParameters(GuestRange Range, int Pages) : ActivityParameters, IRangeParameters;
