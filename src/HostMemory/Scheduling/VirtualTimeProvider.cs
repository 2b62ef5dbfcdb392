namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// Virtual time for a controlled run: it stands still while threads compute and moves only when the scheduler moves
/// it (a thread consumed time, or every thread sleeps and the earliest sleeper is due). Its timestamps are 100 ns
/// ticks since the run started, so the same schedule reads the same clock on every machine.
/// </summary>
public sealed class VirtualTimeProvider : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _ticks;

    /// <summary>Virtual ticks (100 ns) since the run started.</summary>
    public long Ticks => Volatile.Read(ref _ticks);

    /// <summary>Virtual time since the run started.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Ticks;

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(Ticks);

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Virtual time has no timer thread: a controlled thread sleeps through <see cref="SchedulingPoint.Sleep"/>.</summary>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        throw new NotSupportedException("virtual time has no timers: a controlled thread sleeps through SchedulingPoint.Sleep");

    /// <summary>Moves the clock forward to <paramref name="ticks"/> (never back). Only the running controlled thread calls it.</summary>
    internal void AdvanceTo(long ticks)
    {
        if (ticks > _ticks)
        {
            Volatile.Write(ref _ticks, ticks);
        }
    }
}
