namespace Hypervisor.GuestModel.Running;

/// <summary>
/// The run's clock: elapsed time since the start gate opened, read from the run's <see cref="TimeProvider"/> (the
/// system clock free-running, the scheduler's virtual clock in a deterministic run).
/// </summary>
public sealed class RunClock(TimeProvider time)
{
    private long _start = time.GetTimestamp();

    public TimeProvider Time { get; } = time;

    public TimeSpan Elapsed => Time.GetElapsedTime(_start);

    public void Restart() => _start = Time.GetTimestamp();
}
