namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Which callback a <see cref="ProbeNotifier"/> saw.</summary>
public enum ProbeKind
{
    Release,
    RangeStart,
    RangeEnd,
    InvalidatePage,
    ClearFlushYoung,
    ClearYoung,
    TestYoung,
}
