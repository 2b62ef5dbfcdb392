using Hypervisor.GuestModel.GuestKernel;
using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Workloads;
using Hypervisor.HostMemory.Scheduling;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// The thread of one vCPU: runs its workload in guest mode, hands every read to the oracle, records every write.
/// Leaves guest mode whenever it could block (between batches when stopping, after an exit to the VMM).
/// </summary>
public sealed partial class VcpuWorker
{
    private const int Batch = 4096;

    private readonly GuestInstance _guest;
    private readonly Vcpu _vcpu;
    private readonly WorkloadGenerator _workload;
    private readonly RunControl _control;
    private readonly GuestOracle _oracle;
    private readonly ulong[] _duplicateValues;
    private readonly GuestCpu? _guestCpu;
    private long _duplicates;

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
    }

    /// <summary>Why the worker stopped: the run ended, or the VM died.</summary>
    public AccessStatus Ending { get; private set; } = AccessStatus.Ok;

    /// <summary>The vCPU's thread, not started (<see cref="RunControl.StartAll"/> starts them).</summary>
    public Thread CreateThread() => SchedulingPoint.CreateThread($"{_guest.Name}/vcpu{_vcpu.Index}", _control.Guard(Run));

    public void RequestStop() => _vcpu.RequestStop();

    private void Run()
    {
        var index = _vcpu.Index;
        var hostFaults = new SpinWait();
        var slice = _control.Schedule is { } schedule ? schedule.AccessesPerSlice : int.MaxValue;
        var sliceTime = _control.Schedule is { } s ? s.AccessCost * s.AccessesPerSlice : TimeSpan.Zero;
        var sliceLeft = slice;
        // accessesPerVcpu: the vCPU leaves its loop after its quota, as a selftest's vcpu_worker runs a fixed count.
        var quota = _control.AccessesPerVcpu ?? long.MaxValue;
        _guest.VcpuEntered(index, _control.Clock?.Elapsed ?? TimeSpan.Zero);
        _guestCpu?.Start();
        _vcpu.EnterGuest();
        try
        {
            while (!_control.StopRequested && quota > 0)
            {
                var granted = _control.ClaimAccesses((int)Math.Min(Batch, quota));
                quota -= granted;
                for (var i = 0; i < granted; i++)
                {
                    if (--sliceLeft == 0)
                    {
                        // Deterministic run: the guest ran a slice of accesses; virtual time moves on for this vCPU.
                        sliceLeft = slice;
                        SchedulingPoint.Consume(sliceTime, "guest runs");
                    }

                    var access = _workload.Next();
                    var page = (long)access.Page;
                    AccessResult result;
                    if (_guestCpu is not null)
                    {
                        result = AccessVirtual(page, access.Write, access.Duplicate);
                    }
                    else if (access.Write)
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

                    if (result.Status is AccessStatus.VmDead or AccessStatus.Stopped)
                    {
                        Ending = result.Status;
                        return;
                    }

                    if (result.Status == AccessStatus.HostFault)
                    {
                        // The VMM would handle -EFAULT (range unmapped or write-protected right now): out of guest
                        // mode, back off (spin, then sleep) while the faults go on, so the thread changing the range
                        // gets the core even when vCPU threads far outnumber cores.
                        _vcpu.ExitGuest();
                        SchedulingPoint.SpinOnce(ref hostFaults, "vcpu -EFAULT backoff");
                        _vcpu.EnterGuest();
                    }
                    else if (hostFaults.Count != 0 && result.IsOk)
                    {
                        hostFaults.Reset();
                    }
                }
            }
        }
        finally
        {
            _vcpu.ExitGuest();
            _guest.VcpuLeft(index, _control.Clock?.Elapsed ?? TimeSpan.Zero);
            _control.VcpuLeft();
        }
    }
}
