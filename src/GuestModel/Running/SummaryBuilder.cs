using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory;

namespace Hypervisor.GuestModel.Running;

/// <summary>Builds the end-of-run summary from the guests' and the host's counters.</summary>
public static class SummaryBuilder
{
    public static RunSummary Build(string scenario, ulong seed, TimeSpan elapsed, string profile, string? mutation,
        IReadOnlyList<GuestInstance> guests, HostSystem host, long eventsPublished)
    {
        var perGuest = guests.Select(g => g.Summarize(final: true)).ToList();
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var accesses = perGuest.Sum(g => g.Accesses);
        var faults = perGuest.Sum(g => g.Faults);
        return new RunSummary
        {
            Scenario = scenario,
            Seed = seed,
            DurationSeconds = Math.Round(elapsed.TotalSeconds, 3),
            NotifierProfile = profile,
            Mutation = mutation,
            Violations = new ViolationSummary
            {
                Total = host.Violations.Total,
                ByKind = host.Violations.ByKind(),
                First = [.. host.Violations.FirstOccurrences().Select(v =>
                    new ViolationDetail(v.Kind.Name, v.Actor, v.Vcpu, v.Address, v.Pfn, Math.Round(v.Time.TotalSeconds, 6), v.Detail))],
            },
            Totals = new Totals
            {
                Accesses = accesses,
                Faults = faults,
                FaultRetries = perGuest.Sum(g => g.FaultRetries),
                Invalidations = perGuest.Sum(g => g.Invalidations),
                SptesZapped = perGuest.Sum(g => g.SptesZapped),
                TlbFlushes = perGuest.Sum(g => g.TlbFlushes),
                TlbHits = perGuest.Sum(g => g.TlbHits),
                MmioExits = perGuest.Sum(g => g.MmioExits),
                HostFaultExits = perGuest.Sum(g => g.HostFaultExits),
                AccessesPerSecond = Math.Round(accesses / seconds),
                FaultsPerSecond = Math.Round(faults / seconds),
            },
            Guests = perGuest,
            Host = host.Counters().ToDictionary(c => Names.Camel(c.Key.ToString()), c => c.Value),
            EventsPublished = eventsPublished,
        };
    }
}
