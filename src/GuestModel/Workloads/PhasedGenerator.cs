using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// <see cref="AccessPattern.Phased"/>: runs each phase's generator for its number of accesses, cycling. A phase's
/// generator keeps its position between cycles (a sequential phase continues where it stopped).
/// </summary>
internal sealed class PhasedGenerator : WorkloadGenerator
{
    private readonly WorkloadGenerator[] _phases;
    private readonly long[] _accesses;
    private int _phase;
    private long _remaining;

    public PhasedGenerator(WorkloadGenerator[] phases, long[] accesses)
    {
        _phases = phases;
        _accesses = accesses;
        _remaining = accesses[0];
    }

    public override WorkloadAccess Next()
    {
        if (_remaining == 0)
        {
            _phase = _phase + 1 == _phases.Length ? 0 : _phase + 1;
            _remaining = _accesses[_phase];
        }

        _remaining--;
        return _phases[_phase].Next();
    }
}
