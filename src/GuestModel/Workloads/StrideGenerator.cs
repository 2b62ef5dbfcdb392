using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// <see cref="AccessPattern.Stride"/>: pages <c>stride</c> apart. A pass walks one lane (lane, lane + stride, ...) to
/// the end of the working set; the next pass takes the next lane, so after <c>stride</c> passes every page was visited.
/// </summary>
internal sealed class StrideGenerator : LeafGenerator
{
    private readonly ulong _stride;
    private readonly ulong _lanes;
    private ulong _lane;
    private ulong _position;

    public StrideGenerator(WorkloadSpec spec, WorkingSetWindow window, Xoshiro256StarStar random, ulong start, ulong stridePages)
        : base(spec, window, random)
    {
        _stride = stridePages;
        _lanes = Math.Min(stridePages, window.Pages);
        _position = start;
        _lane = start % stridePages;
    }

    public override WorkloadAccess Next()
    {
        var offset = _position;
        _position += _stride;
        if (_position >= Window.Pages)
        {
            _lane = _lane + 1 == _lanes ? 0 : _lane + 1;
            _position = _lane;
        }

        return Access(offset);
    }
}
