namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>One entry of a synthetic run summary's <c>Clients</c> (a secondary MMU other than KVM).</summary>
internal sealed record SyntheticClient(string Name, string Kind, string Guest, long Invalidations, long Refusals, long Retries,
    double CallbackMicros, long Operations = 10, long Faults = 5, long EntriesDropped = 7);
