using Hypervisor.HostMemory;

namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>Outcome of one guest access: the status, the value read (or written), and the host frame used.</summary>
public readonly record struct AccessResult(AccessStatus Status, ulong Value, Pfn Pfn)
{
    public bool IsOk => Status == AccessStatus.Ok;
}
