namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// A validated scenario: the host, its guests and their workloads, the host activities and how long to run.
/// Immutable; overrides (a command-line seed, another notifier profile) are applied with <c>with</c>. Equality of
/// the model records compares list-valued properties by reference, except <see cref="WorkloadSpec"/>, whose
/// phases compare by value.
/// </summary>
public sealed record Scenario
{
    /// <summary>Default of <see cref="Seed"/>.</summary>
    public const ulong DefaultSeed = 1;

    /// <summary>The run length when a scenario gives neither a duration nor an access budget.</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(10);

    /// <summary>Default of <see cref="StatsInterval"/>.</summary>
    public static readonly TimeSpan DefaultStatsInterval = TimeSpan.FromSeconds(1);

    /// <summary>Name, <c>[a-z0-9-]+</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Free text for people.</summary>
    public string? Description { get; init; }

    /// <summary>Seed of every random generator of the run.</summary>
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>Wall-clock run length; <see langword="null"/> when only <see cref="AccessBudget"/> bounds the run.</summary>
    public TimeSpan? Duration { get; init; } = DefaultDuration;

    /// <summary>Total guest accesses across all vCPUs after which the run stops; <see langword="null"/> for no budget.</summary>
    public long? AccessBudget { get; init; }

    /// <summary>
    /// Accesses each vCPU makes before it stops, as a KVM selftest's vCPU loop runs a fixed number of iterations; the
    /// run ends when every vCPU has made its share (or at the duration or budget, if earlier). <see langword="null"/>: no
    /// per-vCPU limit.
    /// </summary>
    public long? AccessesPerVcpu { get; init; }

    /// <summary>Period of the statistics log events.</summary>
    public TimeSpan StatsInterval { get; init; } = DefaultStatsInterval;

    /// <summary>What the daemon does when a run ends.</summary>
    public RestartPolicy Restart { get; init; } = RestartPolicy.Never;

    /// <summary>The simulated host.</summary>
    public required HostSpec Host { get; init; }

    /// <summary>The guests, in file order; names are unique.</summary>
    public required IReadOnlyList<GuestSpec> Guests { get; init; }

    /// <summary>The host activities, in file order.</summary>
    public IReadOnlyList<ActivitySpec> Activities { get; init; } = [];

    /// <summary>Secondary MMUs besides the guests' VMs (HMM mirrors, GRU TLBs, XPMEM exports), in file order.</summary>
    public IReadOnlyList<Clients.ClientSpec> Clients { get; init; } = [];

    /// <summary>
    /// The <c>deterministic:</c> section: when present, runs are controlled by default and <c>explore</c> takes its
    /// defaults from it; null for a free-running scenario.
    /// </summary>
    public DeterministicSpec? Deterministic { get; init; }

    /// <summary>Where the scenario came from (a path or a display name), for messages.</summary>
    public string? Source { get; init; }

    /// <summary>The guest called <paramref name="name"/>, or <see langword="null"/>.</summary>
    public GuestSpec? FindGuest(string name) =>
        Guests.FirstOrDefault(g => string.Equals(g.Name, name, StringComparison.Ordinal));
}
