namespace Hypervisor.GuestModel.Summary;

/// <summary>
/// How a deterministic run was scheduled. <see cref="TraceHash"/> is the same on every run of the same scenario,
/// seed, options and schedule, on any machine.
/// </summary>
/// <param name="Strategy">random, pct or guided (a replay).</param>
/// <param name="Seed">The scheduler's seed.</param>
/// <param name="TraceHash">FNV-1a over every step, as 16 hex digits.</param>
/// <param name="Steps">Scheduling points passed.</param>
/// <param name="Switches">Times the turn passed to another thread.</param>
/// <param name="Decisions">Steps where the schedule departed from the default choice (what a replay token stores).</param>
/// <param name="Threads">Controlled threads, the runner's included.</param>
/// <param name="ViolationStep">The step at which the first violation was seen, or 0.</param>
/// <param name="Abandoned">Why control was given up, if it was (the run then finished free-running).</param>
public sealed record ScheduleSummary(string Strategy, ulong Seed, string TraceHash, long Steps, long Switches, long Decisions,
    int Threads, long ViolationStep, string? Abandoned);
