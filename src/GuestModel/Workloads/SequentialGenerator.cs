using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary><see cref="AccessPattern.Sequential"/>: every page of the working set in order, wrapping.</summary>
internal sealed class SequentialGenerator(WorkloadSpec spec, WorkingSetWindow window, Xoshiro256StarStar random, ulong start)
    : LeafGenerator(spec, window, random)
{
    private ulong _position = start;

    public override WorkloadAccess Next()
    {
        var offset = _position;
        if (++_position == Window.Pages)
        {
            _position = 0;
        }

        return Access(offset);
    }
}
