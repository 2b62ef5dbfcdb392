using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Benchmarks.HostMemory;

/// <summary>A notifier that accepts every callback and does nothing: measures the chain's own dispatch cost.</summary>
public sealed class NoOpNotifier : IMmuNotifier
{
    public void Release(AddressSpace mm)
    {
    }

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range) => true;

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
    }

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
    }

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;
}
