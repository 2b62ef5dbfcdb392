using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;

namespace Hypervisor.Host.Tests.Support;

/// <summary>One simulation event of each kind, as a runner would publish them, for pipeline tests.</summary>
internal static class SampleEvents
{
    public static ScenarioStartedEvent Started(string scenario) => new(scenario, TimeSpan.Zero, 42, "modern", null, 1, 2);

    public static InvalidationEvent Invalidation(string scenario, int sptes = 3, ulong page = 0x1000) => new(scenario, TimeSpan.FromSeconds(1), "modern",
        new InvalidationRecord("vm", InvalidationCause.MadviseDontNeed, NotifierEvent.Clear, new Hva(page << 12), new Hva((page + 4) << 12),
            sptes, 1, TimeSpan.FromMicroseconds(7.5), SinglePage: false, TlbFlushed: true));

    public static StatsEvent Stats(string scenario, long accesses, bool final = false) =>
        new(scenario, TimeSpan.FromSeconds(1), Guest(accesses), final);

    public static ViolationEvent Violation(string scenario) => new(scenario, TimeSpan.FromSeconds(1),
        new ViolationRecord(ViolationKind.UseAfterFree, "vm", 0, 0x42, 17, TimeSpan.FromSeconds(1.25), "read a freed frame"));

    public static HostActivityEvent Activity(string scenario) => new(scenario, TimeSpan.FromSeconds(1), "fork", "vm", "forked");

    public static RetryBurstEvent Burst(string scenario) => new(scenario, TimeSpan.FromSeconds(1), "vm", 1, 5000, 6000, TimeSpan.FromSeconds(1));

    public static ScenarioEndedEvent Ended(string scenario, long invalidations = 1) => new(scenario, TimeSpan.FromSeconds(2), new RunSummary
    {
        Scenario = scenario,
        Seed = 42,
        DurationSeconds = 2,
        NotifierProfile = "modern",
        Violations = new ViolationSummary(),
        Totals = new Totals { Invalidations = invalidations },
        Guests = [Guest(100)],
        Host = new Dictionary<string, long> { ["cowFaults"] = 1 },
    });

    public static GuestSummary Guest(long accesses) => new()
    {
        Name = "vm",
        Vcpus = 2,
        Accesses = accesses,
        Faults = accesses / 10,
        FaultRetries = accesses / 100,
        TlbFlushes = accesses / 1000,
        RetriesByReason = new Dictionary<string, long> { ["sequence-changed"] = accesses / 100 },
    };
}
