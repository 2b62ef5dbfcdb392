namespace Hypervisor.HostMemory.Scheduling;

/// <summary>One step of a controlled run: which thread reached which scheduling point, at what virtual time.</summary>
/// <param name="Index">The step's number, from 1.</param>
/// <param name="Thread">The thread's index in creation order (0 is the thread that started the run).</param>
/// <param name="ThreadName">The thread's name (<c>hot/vcpu0</c>, <c>activity:fork:hot</c>, <c>kswapd</c>).</param>
/// <param name="Kind">What kind of point it was.</param>
/// <param name="Name">The kernel-named protocol step (<c>mmu_lock</c>, <c>invalidate_range_start</c>, ...).</param>
/// <param name="Ticks">Virtual time, in 100 ns ticks since the run started.</param>
public readonly record struct ScheduleStep(long Index, int Thread, string ThreadName, SchedulingPointKind Kind, string Name, long Ticks)
{
    public override string ToString() =>
        $"{Index,8} {TimeSpan.FromTicks(Ticks).TotalMilliseconds,10:0.000} ms  {ThreadName,-28} {KindName(Kind),-7} {Name}";

    /// <summary>The kind's lower-case name as printed in traces and logs.</summary>
    public static string KindName(SchedulingPointKind kind) => kind switch
    {
        SchedulingPointKind.Step => "step",
        SchedulingPointKind.Acquire => "acquire",
        SchedulingPointKind.Release => "release",
        SchedulingPointKind.Atomic => "atomic",
        SchedulingPointKind.Window => "window",
        SchedulingPointKind.Wait => "wait",
        SchedulingPointKind.Spin => "spin",
        SchedulingPointKind.Sleep => "sleep",
        SchedulingPointKind.Start => "start",
        _ => "finish",
    };
}
