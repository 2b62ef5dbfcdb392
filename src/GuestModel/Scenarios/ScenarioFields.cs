namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// The keys the loader accepts in each section of a scenario file. The loader reports any other key as unknown and
/// lists these; tests compare them with the JSON schema and the documentation so the three cannot drift apart.
/// Activity parameters are not here: each <see cref="IActivityKind"/> owns its own.
/// </summary>
public static class ScenarioFields
{
    /// <summary>Keys of the document root.</summary>
    public static IReadOnlyList<string> TopLevel { get; } =
        ["name", "description", "seed", "duration", "accessBudget", "accessesPerVcpu", "statsInterval", "restart", "host", "guests", "activities",
            "clients", "deterministic"];

    /// <summary>Keys of <c>host</c>.</summary>
    public static IReadOnlyList<string> Host { get; } = ["ram", "swap", "notifierProfile", "cpus", "tableFree", "gupFast", "walkerDelayEvery"];

    /// <summary>Keys of <c>deterministic</c>.</summary>
    public static IReadOnlyList<string> Deterministic { get; } =
        ["seed", "strategy", "depth", "switchProbability", "accessCost", "maxSteps", "exploreDuration"];

    /// <summary>Keys of an entry of <c>guests</c>.</summary>
    public static IReadOnlyList<string> Guest { get; } =
        ["name", "memory", "vcpus", "backing", "writeNotify", "fileMapping", "memslots", "workload", "vcpuWorkloads", "mmu", "pageTableChurn",
            "addressSpaceOf", "tlbEntries", "thp"];

    /// <summary>Keys of an entry of <c>memslots</c>.</summary>
    public static IReadOnlyList<string> Memslot { get; } = ["base", "size", "readOnly", "backing", "aliasOf"];

    /// <summary>Keys of a <c>workload</c>.</summary>
    public static IReadOnlyList<string> Workload { get; } =
        ["pattern", "writeRatio", "workingSet", "workingSetOffset", "zipfExponent", "stride", "duplicateRatio", "phases"];

    /// <summary>Keys of an entry of <c>phases</c>: a workload without <c>phases</c>, plus <c>accesses</c>.</summary>
    public static IReadOnlyList<string> Phase { get; } =
        ["pattern", "writeRatio", "workingSet", "workingSetOffset", "zipfExponent", "stride", "duplicateRatio", "accesses"];

    /// <summary>Keys of an entry of <c>vcpuWorkloads</c>.</summary>
    public static IReadOnlyList<string> VcpuWorkload { get; } = ["vcpu", "workload"];

    /// <summary>Keys every activity accepts, whatever its kind; the kind adds its parameters.</summary>
    public static IReadOnlyList<string> Activity { get; } = ["kind", "guest", "at", "every", "count"];

    /// <summary>
    /// How an enum's values are written in scenario files, in declaration order: kebab case
    /// (<c>AnonymousPrivate</c> is <c>anonymous-private</c>, <c>Legacy2008</c> is <c>legacy2008</c>).
    /// </summary>
    public static IReadOnlyList<string> EnumValues<TEnum>()
        where TEnum : struct, Enum => [.. KebabNames<TEnum>.All.Select(n => n.Name)];

    /// <summary>How <paramref name="value"/> is written in scenario files (and best printed in logs).</summary>
    public static string EnumValue<TEnum>(TEnum value)
        where TEnum : struct, Enum => KebabNames<TEnum>.Of(value);
}
