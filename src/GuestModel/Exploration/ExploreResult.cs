namespace Hypervisor.GuestModel.Exploration;

/// <summary>
/// What an exploration (or one shard of it) found. Written as JSON by <c>explore --out</c>; <c>explore --merge</c>
/// combines shards into the result the unsharded search would have given.
/// </summary>
public sealed record ExploreResult
{
    public required string Scenario { get; init; }
    public string? Mutation { get; init; }
    public string? Profile { get; init; }
    public required string Strategy { get; init; }
    public int Depth { get; init; }
    public ulong Seed { get; init; }

    /// <summary>Schedules in the whole search.</summary>
    public long Schedules { get; init; }

    public int ShardIndex { get; init; }
    public int ShardCount { get; init; } = 1;

    /// <summary>Schedules actually run (by this shard, or by all merged shards).</summary>
    public long SchedulesRun { get; init; }

    /// <summary>The trace hash of every clean schedule run, by index (the merge compares them).</summary>
    public IReadOnlyList<ScheduleHash> Clean { get; init; } = [];

    /// <summary>The first failing schedule, or null when every schedule was clean.</summary>
    public FoundViolation? Violation { get; init; }

    public double Seconds { get; init; }

    /// <summary>Wall seconds from the start to the end of the first failing schedule (before shrinking), or null.</summary>
    public double? SecondsToViolation { get; init; }

    /// <summary>The process's CPU seconds over the same stretch: what the search cost on a loaded machine.</summary>
    public double? CpuSecondsToViolation { get; init; }

    /// <summary>Steps over every schedule run.</summary>
    public long Steps { get; init; }

    /// <summary>FNV-1a over the clean schedules below the first violation (or all), by index: equal searches, equal digests.</summary>
    public string Digest => ExploreDigest.Of(Clean, Violation?.Index);

    /// <summary>
    /// Stopped (SIGTERM, Ctrl+C) before every schedule ran, without a violation in those that did: not a clean search.
    /// </summary>
    public bool Interrupted { get; init; }

    /// <summary>0 clean, 1 a violation found, 4 interrupted before the search ended.</summary>
    public int ExitCode => Violation is not null ? 1 : Interrupted ? InterruptedExitCode : 0;

    /// <summary>The exit code of a search stopped before it ended without finding a violation.</summary>
    public const int InterruptedExitCode = 4;
}

/// <summary>One clean schedule's trace hash.</summary>
public sealed record ScheduleHash(long Index, string Hash);

/// <summary>The failing schedule an exploration reports.</summary>
/// <param name="Index">Its index in the search.</param>
/// <param name="Kinds">Violation kinds seen, first first.</param>
/// <param name="Detail">The first violation's sentence.</param>
/// <param name="Token">The shrunk schedule's replay token.</param>
/// <param name="OriginalToken">The schedule as explored (strategy and seed).</param>
/// <param name="Step">The step at which the violation was seen in the shrunk schedule.</param>
/// <param name="DecisionsBefore">Decisions of the schedule as found.</param>
/// <param name="DecisionsAfter">Decisions left after shrinking.</param>
/// <param name="ThreadsBefore">Threads of the schedule as found.</param>
/// <param name="ThreadsAfter">Threads left after shrinking (activities dropped).</param>
/// <param name="TraceHash">The shrunk schedule's trace hash (a replay prints the same).</param>
public sealed record FoundViolation(long Index, IReadOnlyList<string> Kinds, string Detail, string Token, string OriginalToken, long Step,
    int DecisionsBefore, int DecisionsAfter, int ThreadsBefore, int ThreadsAfter, string TraceHash);

/// <summary>The digest of a search's clean schedules.</summary>
public static class ExploreDigest
{
    public static string Of(IEnumerable<ScheduleHash> clean, long? below)
    {
        ArgumentNullException.ThrowIfNull(clean);
        var hash = 14695981039346656037UL;
        foreach (var s in clean.Where(c => below is null || c.Index < below).OrderBy(c => c.Index))
        {
            foreach (var c in $"{s.Index}:{s.Hash};")
            {
                hash = (hash ^ c) * 1099511628211UL;
            }
        }

        return hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
