using System.Diagnostics;
using Hypervisor.GuestModel.GuestKernel;
using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Workloads;
using Hypervisor.HostMemory.Scheduling;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// One vCPU as the host schedules it: runs its workload in guest mode, hands every read to the oracle, records every
/// write. Leaves guest mode whenever it could block (between batches when stopping, after an exit to the VMM) and at
/// the end of each time slice. Free-running, a <see cref="VcpuScheduler"/> CPU runs it slice by slice; in a
/// deterministic run it has a thread of its own (<see cref="CreateThread"/>).
/// </summary>
public sealed partial class VcpuWorker
{
    private const int Batch = 4096;

    // Accesses between two looks at the clock for the end of a time slice.
    private const int SliceCheckMask = 255;

    private readonly GuestInstance _guest;
    private readonly Vcpu _vcpu;
    private readonly WorkloadGenerator _workload;
    private readonly RunControl _control;
    private readonly GuestOracle _oracle;
    private readonly ulong[] _duplicateValues;
    private readonly GuestCpu? _guestCpu;
    private readonly int _virtualSlice;
    private readonly TimeSpan _virtualSliceTime;
    private long _duplicates;

    // Kept from one time slice to the next: the vCPU's state while it is not on a CPU.
    private SpinWait _hostFaults;
    private int _granted;
    private int _virtualSliceLeft;
    private bool _started;
    private bool _done;

    // accessesPerVcpu: accesses left before the vCPU leaves its loop, as a selftest's vcpu_worker runs a fixed count.
    private long _quota;

    public VcpuWorker(GuestInstance guest, int index, ulong seed, RunControl control)
    {
        _guest = guest;
        _vcpu = guest.Vm.Vcpus[index];
        _control = control;
        _oracle = guest.Oracle;
        _workload = WorkloadGenerator.Create(guest.Spec.WorkloadFor(index), seed, guest.Spec.Pages, index, guest.Spec.Vcpus);
        // A handful of contents shared by many pages, so that KSM has something to merge.
        _duplicateValues = [.. Enumerable.Range(0, 4).Select(k => ValueCodec.Encode(ValueCodec.TagDuplicate, 0, 0, k))];
        if (guest.Kernel is { } kernel)
        {
            _guestCpu = new GuestCpu(kernel, _vcpu, seed);
        }

        // A deterministic run's guest consumes virtual time, a slice of accesses at a time.
        _virtualSlice = control.Schedule is { } schedule ? schedule.AccessesPerSlice : int.MaxValue;
        _virtualSliceTime = control.Schedule is { } s ? s.AccessCost * s.AccessesPerSlice : TimeSpan.Zero;
        _virtualSliceLeft = _virtualSlice;
        _quota = control.AccessesPerVcpu ?? long.MaxValue;
    }

    /// <summary>Why the worker stopped: the run ended, or the VM died.</summary>
    public AccessStatus Ending { get; private set; } = AccessStatus.Ok;

    /// <summary>A thread of its own for this vCPU, not started (<see cref="RunControl.StartAll"/> starts them).</summary>
    public Thread CreateThread() => SchedulingPoint.CreateThread($"{_guest.Name}/vcpu{_vcpu.Index}", _control.Guard(() => RunSlice(long.MaxValue, null)));

    public void RequestStop() => _vcpu.RequestStop();

    /// <summary>
    /// Runs guest code until <paramref name="sliceEnd"/> (a <see cref="Stopwatch"/> timestamp; <c>long.MaxValue</c>:
    /// no end), or until it exits to the VMM on a host fault while another vCPU of <paramref name="cpus"/> waits for a
    /// CPU. True if the vCPU can run again (preempted: <c>kvm_sched_out</c>, outside guest mode); false once it is done
    /// (the run stopped, its access budget is spent or its VM died).
    /// </summary>
    internal bool RunSlice(long sliceEnd, VcpuScheduler? cpus)
    {
        if (!_started)
        {
            _started = true;
            _guest.VcpuEntered(_vcpu.Index, _control.Clock?.Elapsed ?? TimeSpan.Zero);
            _guestCpu?.Start();
        }

        var again = RunGuest(sliceEnd, cpus);
        // The end of every slice, so that a vCPU the stop finds waiting for a CPU has its last access time too.
        _guest.VcpuRan(_vcpu.Index, _control.Clock?.Elapsed ?? TimeSpan.Zero);
        if (!again && !_done)
        {
            _done = true;
            _control.VcpuLeft();
        }

        return again;
    }

    private bool RunGuest(long sliceEnd, VcpuScheduler? cpus)
    {

        var clock = sliceEnd != long.MaxValue;
        var granted = _granted;
        _vcpu.EnterGuest();
        try
        {
            while (true)
            {
                if (granted == 0 && (_control.StopRequested || _quota == 0 || (granted = _control.ClaimAccesses((int)Math.Min(Batch, _quota))) == 0))
                {
                    return false;
                }

                _quota -= granted;

                for (; granted > 0; granted--)
                {
                    if (clock && (granted & SliceCheckMask) == 0 && Stopwatch.GetTimestamp() >= sliceEnd)
                    {
                        return true; // the slice is over: preempted between two accesses, as by the host's tick
                    }

                    if (--_virtualSliceLeft == 0)
                    {
                        // Deterministic run: the guest ran a slice of accesses; virtual time moves on for this vCPU.
                        _virtualSliceLeft = _virtualSlice;
                        SchedulingPoint.Consume(_virtualSliceTime, "guest runs");
                    }

                    var result = AccessOnce();
                    if (result.Status is AccessStatus.VmDead or AccessStatus.Stopped)
                    {
                        Ending = result.Status;
                        return false;
                    }

                    if (result.Status == AccessStatus.HostFault)
                    {
                        // The VMM would handle -EFAULT (range unmapped or write-protected right now): out of guest
                        // mode, back off while the faults go on, so the thread changing the range gets the core. With
                        // other vCPUs waiting for a CPU, this one gives its CPU away (it would block in the VMM);
                        // otherwise it spins, then sleeps.
                        _vcpu.ExitGuest();
                        if (cpus is { HasWaiting: true })
                        {
                            granted--;
                            return true;
                        }

                        SchedulingPoint.SpinOnce(ref _hostFaults, "vcpu -EFAULT backoff");
                        _vcpu.EnterGuest();
                    }
                    else if (_hostFaults.Count != 0 && result.IsOk)
                    {
                        _hostFaults.Reset();
                    }
                }
            }
        }
        finally
        {
            _granted = granted;
            _vcpu.ExitGuest();
        }
    }

    /// <summary>One access of the workload, by guest physical page (TDP) or through the guest's own tables (shadow).</summary>
    private AccessResult AccessOnce()
    {
        var access = _workload.Next();
        var page = (long)access.Page;
        if (_guestCpu is not null)
        {
            return AccessVirtual(page, access.Write, access.Duplicate);
        }

        var index = _vcpu.Index;
        AccessResult result;
        if (access.Write)
        {
            page = _oracle.OwnedPageNear(page, index);
            var value = access.Duplicate
                ? _duplicateValues[_duplicates++ & 3]
                : _oracle.NextWriteValue(index, page);
            result = _vcpu.Access(new Gfn((ulong)page), write: true, value);
            if (result.IsOk)
            {
                _oracle.Wrote(index, page, value);
            }
        }
        else
        {
            var hostWriteEpoch = _oracle.HostWriteEpoch;
            result = _vcpu.Access(new Gfn((ulong)page), write: false, 0);
            if (result.IsOk)
            {
                _oracle.CheckRead(index, page, result.Value, result.Pfn, hostWriteEpoch);
            }
        }

        return result;
    }
}
