using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// A second notifier that can park the host thread inside a start callback, which holds an invalidation open
/// (between start and the PTE change) for as long as a test needs; or, with <c>parkInRelease</c>, inside its release,
/// which holds an exit between its <c>mm_users</c> drop and the freeing of the pages.
/// </summary>
internal sealed class GateNotifier(bool parkInRelease = false) : IMmuNotifier
{
    private readonly ManualResetEventSlim _release = new(true);

    public ManualResetEventSlim Parked { get; } = new(false);

    public void CloseGate() => _release.Reset();

    public void OpenGate() => _release.Set();

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        if (!parkInRelease)
        {
            Park();
        }

        return true;
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
    }

    public void Release(AddressSpace mm)
    {
        if (parkInRelease)
        {
            Park();
        }
    }

    private void Park()
    {
        Parked.Set();
        _release.Wait(TimeSpan.FromSeconds(30));
    }

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
    }

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;
}
