using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// The OOM reaper reaps the named guest's VMM with non-blockable invalidations; a range a notifier refuses is left
/// for a later attempt, as the kernel's reaper does. The guest's vCPUs then find their VM dead.
/// </summary>
public sealed class OomExecutor : IActivityExecutor
{
    /// <summary><c>MAX_OOM_REAP_RETRIES</c> in mm/oom_kill.c.</summary>
    public const int MaxReapAttempts = 10;

    /// <summary><c>schedule_timeout_idle(HZ/10)</c> between two attempts of <c>oom_reap_task</c>.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    public string Kind => "oom";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var victim = GuestRanges.RequireGuest(context, spec);

        // The named guest's VMM is the victim: every other live address space is out of reach of this kill (later
        // kills may pick them), as if their oom_score_adj were OOM_SCORE_ADJ_MIN for now.
        List<AddressSpace> Others() => [.. context.Host.LiveAddressSpaces().Where(mm => mm != victim.Mm)];

        // oom_reap_task: while (attempts++ < MAX_OOM_REAP_RETRIES && !oom_reap_task_mm(tsk, mm))
        //     schedule_timeout_idle(HZ/10);
        // An attempt fails when the mmap lock is busy or a notifier refused a non-blockable start (a busy device);
        // the refused ranges stay queued in the reaper. After the last attempt the kernel gives up ("oom_reaper:
        // unable to reap pid") and leaves the memory to the victim's exit.
        var result = context.Memory.OomReaper.ReapOnce(Others());
        var attempts = 1;
        while (attempts < MaxReapAttempts && !result.Completed && context.Control.Sleep(RetryDelay))
        {
            result = context.Memory.OomReaper.ReapOnce(Others());
            attempts++;
        }

        return $"{result} after {attempts} attempt{(attempts == 1 ? string.Empty : "s")}";
    }
}
