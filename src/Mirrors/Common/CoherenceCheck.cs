using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Common;

/// <summary>
/// Runs a client's consistency rule and reports what it finds. Under the 2008 profile a single-page call site
/// changes the PTE first and calls <c>invalidate_page</c> after the page-table lock is dropped (the old page stays
/// referenced until then), so a client may lag the primary for that moment without harm; there a mismatch is reported
/// only if the same entry still disagrees a little later. Under the modern profile every mismatch is reported.
/// </summary>
public static class CoherenceCheck
{
    /// <summary>How long a legacy-profile mismatch may last before it counts (far above one call site's window).</summary>
    public static readonly TimeSpan LegacyGrace = TimeSpan.FromMilliseconds(5);

    /// <param name="mm">The address space mirrored.</param>
    /// <param name="actor">The client, as violation reports name it.</param>
    /// <param name="find">Finds the mismatches now (under the client's own lock).</param>
    /// <returns>How many mismatches were reported.</returns>
    public static int Run(AddressSpace mm, string actor, Func<List<Mismatch>> find)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(find);
        var found = find();
        if (found.Count != 0 && mm.Profile == NotifierProfile.Legacy2008)
        {
            SchedulingPoint.Sleep(LegacyGrace, "legacy grace");
            var again = find().ToHashSet();
            found = [.. found.Where(again.Contains)];
        }

        foreach (var m in found)
        {
            mm.Host.Violations.Report(m.Kind, new AccessSite(actor, -1, m.Vpn), m.Pfn, m.Detail);
        }

        return found.Count;
    }
}
