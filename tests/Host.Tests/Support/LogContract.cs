using NUnit.Framework;

namespace Hypervisor.Host.Tests.Support;

/// <summary>
/// The log format as documented, written out independently of the code: event id, name and property
/// names. <c>hypervisor analyze</c> is written against this; a change here is a breaking change of the log.
/// </summary>
internal static class LogContract
{
    public static readonly IReadOnlyDictionary<int, (string Name, string[] Properties)> Events = new Dictionary<int, (string, string[])>
    {
        [1] = ("ScenarioStarted", ["Scenario", "RunId", "Seed", "Profile", "Mutation", "Guests", "Vcpus"]),
        [2] = ("ScenarioEnded", ["Scenario", "RunId", "DurationSeconds", "Violations", "ExitCode"]),
        [3] = ("Invalidation", ["RunId", "Guest", "Event", "NotifierEvent", "StartHva", "Pages", "SptesZapped", "VcpusFlushed",
            "TlbFlushed", "DurationMicros", "SinglePage", "ElapsedSeconds"]),
        [4] = ("RetryBurst", ["Scenario", "RunId", "Guest", "Vcpu", "Retries", "Faults", "WindowMs"]),
        [5] = ("Statistics", ["Scenario", "RunId", "Guest", "ElapsedSeconds", "Final", "Accesses", "Faults", "FaultRetries",
            "Invalidations", "SptesZapped", "TlbFlushes", "TlbFlushWaitMicros", "TlbHits", "MmioExits", "YoungCalls", "YoungTrue",
            "RetriesByReason"]),
        [6] = ("Violation", ["Scenario", "RunId", "Kind", "Guest", "Vcpu", "Address", "Pfn", "AtSeconds", "Detail"]),
        [7] = ("RunSummary", ["Scenario", "RunId", "Summary"]),
        [8] = ("HostActivity", ["Scenario", "RunId", "Kind", "Guest", "Outcome", "ElapsedSeconds"]),
        [9] = ("ScenarioInvalid", ["File", "Error"]),
        [10] = ("DaemonStarted", []),
        [11] = ("DaemonStopping", []),
        [12] = ("ScenarioRestarting", ["Scenario", "RunId", "Reason"]),
        [13] = ("PipelineStatistics", ["Events", "EventsPerSecond", "Invalidations", "QueueDepth", "BlockedMicros"]),
        [14] = ("UnhandledError", ["Error"]),
    };

    /// <summary>Asserts that every catalogue event in <paramref name="lines"/> has its contract name and properties.</summary>
    public static void AssertConforms(IEnumerable<LogLine> lines)
    {
        foreach (var line in lines.Where(l => l.IsHypervisor))
        {
            Assert.That(line.Id, Is.Not.Null, $"{line.File}:{line.LineNumber} carries an EventId");
            Assert.That(Events.ContainsKey(line.Id!.Value), Is.True, $"{line.File}:{line.LineNumber}: id {line.Id} is in the catalogue");
            var (name, properties) = Events[line.Id.Value];
            Assert.That(line.Name, Is.EqualTo(name), $"{line.File}:{line.LineNumber}: id {line.Id} is named {name}");
            var present = line.Properties.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            Assert.That(present, Is.SupersetOf(properties), $"{line.File}:{line.LineNumber}: {name} has the contract's properties");
        }
    }
}
