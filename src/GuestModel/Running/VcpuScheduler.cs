using System.Diagnostics;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// The host CPUs that run the vCPUs of one free-running run: a few threads, each a CPU taking the vCPU at the head of
/// a round-robin run queue, running it for a time slice and putting it back at the tail. That is what the host
/// scheduler does to an overcommitted hypervisor: a vCPU thread whose slice ends is preempted (the timer tick exits
/// the guest, <c>schedule()</c> runs KVM's <c>kvm_sched_out</c> preempt notifier, the vCPU is outside guest mode) and
/// the next runnable vCPU thread is picked (<c>kvm_sched_in</c>, <c>vcpu_load</c>).
/// </summary>
/// <remarks>
/// <para>
/// With a thread per vCPU and every one of them runnable, the operating system shared two cores between hundreds of
/// threads: the JIT's tier-up thread and the host activities got a sliver of the machine (a run of 256 guests did a
/// tenth of the accesses of a run of 16), and starting or stopping a thousand threads took seconds on a busy machine.
/// Here a thousand vCPUs cost a thousand objects and <see cref="Cpus"/> threads.
/// </para>
/// <para>
/// The race surface stays: the host activities, kswapd and the clients have threads of their own and run whenever the
/// operating system lets them, between any two instructions of a running vCPU; and there are more CPUs here than
/// cores (<see cref="DefaultCpus"/>), so a vCPU the operating system preempts in the middle of a fault (holding
/// <c>mmu_lock</c>, or between <c>gup</c> and the sequence check) has other vCPUs running beside it. With no more vCPUs
/// than CPUs each vCPU keeps its CPU for the whole run, as before. A vCPU leaves its CPU only outside guest mode and
/// between accesses, holding no lock: a flush never waits for a vCPU in the queue (it is not in guest mode, so it
/// services the request at its next entry, as <c>kvm_vcpu_kick</c> leaves a descheduled vCPU alone).
/// </para>
/// </remarks>
public sealed class VcpuScheduler
{
    /// <summary>How long a vCPU runs before the next one gets its CPU (EEVDF's base slice is 0.75 ms to 3 ms).</summary>
    public static readonly TimeSpan DefaultSlice = TimeSpan.FromMilliseconds(1);

    // The run queue: vCPUs that can run and hold no CPU, in the order they left one. One lock, held for a queue
    // operation only.
    private readonly Lock _lock = new();
    private readonly Queue<VcpuWorker> _runnable;
    private readonly RunControl _control;
    private readonly long _sliceTicks;
    private volatile int _waiting;

    /// <param name="vcpus">Every vCPU of the run, runnable from the start.</param>
    /// <param name="control">The run's gate and stop.</param>
    /// <param name="cpus">At most this many CPUs (threads); no more than there are vCPUs.</param>
    /// <param name="slice">A vCPU's time slice when vCPUs outnumber CPUs.</param>
    public VcpuScheduler(IReadOnlyList<VcpuWorker> vcpus, RunControl control, int cpus, TimeSpan slice)
    {
        ArgumentNullException.ThrowIfNull(vcpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(cpus, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(slice, TimeSpan.Zero);
        _control = control;
        _runnable = new Queue<VcpuWorker>(vcpus);
        _waiting = vcpus.Count;
        Cpus = Math.Min(cpus, vcpus.Count);
        // No more vCPUs than CPUs: nobody waits, each vCPU runs on its CPU until the run ends.
        _sliceTicks = vcpus.Count > cpus ? (long)(slice.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
    }

    /// <summary>
    /// Four CPUs per core: few enough runnable threads that the JIT, the host activities and the sampler get the cores
    /// they need, enough that a vCPU the operating system preempts inside a fault has company.
    /// </summary>
    public static int DefaultCpus => Math.Max(8, 4 * Environment.ProcessorCount);

    /// <summary>The CPUs (threads) this scheduler runs vCPUs on.</summary>
    public int Cpus { get; }

    /// <summary>True while some vCPU waits in the run queue for a CPU (read without the lock: a hint).</summary>
    public bool HasWaiting => _waiting != 0;

    /// <summary>The CPUs' threads, guarded by the run's gate, not started (<see cref="RunControl.StartAll"/> starts them).</summary>
    public IReadOnlyList<Thread> CreateThreads() =>
        [.. Enumerable.Range(0, Cpus).Select(c => new Thread(_control.Guard(RunCpu)) { IsBackground = true, Name = $"vcpu-cpu{c}" })];

    /// <summary>
    /// One CPU: <c>pick_next_task</c> from the head of the queue, run the vCPU for a slice, <c>put_prev_task</c> at the
    /// tail. A CPU that finds the queue empty is done: every vCPU still running has a CPU of its own.
    /// </summary>
    private void RunCpu()
    {
        VcpuWorker? current = null;
        while (!_control.StopRequested)
        {
            lock (_lock)
            {
                if (current is not null)
                {
                    _runnable.Enqueue(current);
                }

                if (!_runnable.TryDequeue(out current))
                {
                    return;
                }

                _waiting = _runnable.Count;
            }

            var sliceEnd = _sliceTicks == long.MaxValue ? long.MaxValue : Stopwatch.GetTimestamp() + _sliceTicks;
            if (!current.RunSlice(sliceEnd, this))
            {
                current = null; // done: the run stopped or its VM died
            }
        }
    }
}
