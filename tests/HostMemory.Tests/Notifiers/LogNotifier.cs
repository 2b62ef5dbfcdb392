using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>An ordinary notifier that writes "name.start" / "name.end" into a shared list, to check call order.</summary>
public sealed class LogNotifier(string name, List<string> log) : IMmuNotifier
{
    public void Release(AddressSpace mm) => Add("release");

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        Add("start");
        return true;
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range) => Add("end");

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause) => Add("page");

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;

    private void Add(string what)
    {
        lock (log)
        {
            log.Add($"{name}.{what}");
        }
    }
}
