namespace Hypervisor.GuestModel.Scenarios;

/// <summary>A host activity of a scenario (an entry of <c>activities</c>): what fires, on which guest, and when.</summary>
public sealed record ActivitySpec
{
    /// <summary>The registered kind name (<c>fork</c>, <c>mprotect</c>, ...).</summary>
    public required string Kind { get; init; }

    /// <summary>The guest the activity acts on; <see langword="null"/> only for kinds that do not need one.</summary>
    public string? Guest { get; init; }

    /// <summary>Time of the first firing, from the start of the run.</summary>
    public TimeSpan At { get; init; }

    /// <summary>
    /// Width of the range <c>at: low-high</c> (zero for a plain <c>at</c>): each firing happens a uniform draw in
    /// [0, AtJitter] after its time, from the activity's own seeded generator, so that a race with a short window is
    /// met at many offsets.
    /// </summary>
    public TimeSpan AtJitter { get; init; }

    /// <summary>Period between firings; <see langword="null"/> for a one-shot or a fixed count at the same time.</summary>
    public TimeSpan? Every { get; init; }

    /// <summary>Number of firings; <see langword="null"/> means unbounded (only with <see cref="Every"/>).</summary>
    public long? Count { get; init; }

    /// <summary>The kind-specific parameters; the record type says which kind.</summary>
    public required ActivityParameters Parameters { get; init; }

    /// <summary>The 1-based line of the activity in its scenario file, for messages; 0 when not from a file.</summary>
    public int Line { get; init; }

    /// <summary>When firing number <paramref name="index"/> (0-based) happens, if it happens at all.</summary>
    /// <param name="index">The firing number, 0 for the first.</param>
    /// <param name="at">The time from the start of the run.</param>
    /// <returns><see langword="false"/> when the activity fires fewer than <paramref name="index"/> + 1 times.</returns>
    public bool TryGetFiringTime(long index, out TimeSpan at)
    {
        at = At;
        if (index < 0 || (Count is { } count && index >= count) || (Every is null && index > 0))
        {
            return false;
        }

        if (Every is { } every)
        {
            at = At + (every * index);
        }

        return true;
    }
}
