using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>The pages a workload touches: <see cref="Pages"/> pages from <see cref="FirstPage"/>.</summary>
/// <param name="FirstPage">Guest page index of the working set's first page.</param>
/// <param name="Pages">Number of pages, at least 1.</param>
internal readonly record struct WorkingSetWindow(ulong FirstPage, ulong Pages)
{
    /// <summary>The window of <paramref name="spec"/> in a guest of <paramref name="guestPages"/> pages.</summary>
    /// <exception cref="ArgumentException">The working set is unaligned, empty or outside the guest.</exception>
    public static WorkingSetWindow Of(WorkloadSpec spec, long guestPages)
    {
        const long page = ScenarioUnits.PageSize;
        if (spec.WorkingSetOffset < 0 || spec.WorkingSetOffset % page != 0 || spec.WorkingSet % page is not (null or 0))
        {
            throw new ArgumentException("The working set and its offset must be multiples of the page size.", nameof(spec));
        }

        var first = spec.WorkingSetOffset / page;
        var pages = spec.WorkingSet is { } bytes ? bytes / page : guestPages - first;
        if (pages < 1 || first + pages > guestPages)
        {
            throw new ArgumentException(
                $"The working set (pages {first} to {first + pages}) must be non-empty and inside the guest's {guestPages} pages.",
                nameof(spec));
        }

        return new WorkingSetWindow((ulong)first, (ulong)pages);
    }
}
