using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Invalidation;

/// <summary>
/// The VM's subscription to its address space (<c>kvm_mmu_notifier_ops</c>). One instance per registration: a
/// re-registration makes a new one, so a late callback of the old one is recognisable. Each callback is counted
/// while it runs, which is how a callback still running after unregister returned is caught.
/// </summary>
internal sealed class VmMmuNotifier(VirtualMachine vm) : IMmuNotifier
{
    private int _running;
    private int _unregistered;
    private volatile bool _releaseRan;

    /// <summary>
    /// True once <see cref="Release"/> was called on this registration: the address space exited (or the notifier
    /// was unregistered). A re-attach that finds it set must not enable the VM.
    /// </summary>
    public bool ReleaseRan => _releaseRan;

    public void Release(AddressSpace mm)
    {
        _releaseRan = true;
        Enter();
        try
        {
            vm.OnRelease();
        }
        finally
        {
            Exit();
        }
    }

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        Enter();
        try
        {
            return vm.OnInvalidateRangeStart(range);
        }
        finally
        {
            Exit();
        }
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
        Enter();
        try
        {
            vm.OnInvalidateRangeEnd(range);
        }
        finally
        {
            Exit();
        }
    }

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
        Enter();
        try
        {
            vm.OnInvalidatePage(hva, cause);
        }
        finally
        {
            Exit();
        }
    }

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => Age(start, end, clear: true, flush: true);

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => Age(start, end, clear: true, flush: false);

    public bool TestYoung(AddressSpace mm, Hva hva) => Age(hva, hva + Hva.PageSize, clear: false, flush: false);

    /// <summary>Called right after <c>UnregisterNotifier</c> returned: from now on any callback is a violation.</summary>
    /// <remarks>
    /// A Dekker pair with <see cref="Enter"/>: this stores the flag then loads the count, Enter stores the count then
    /// loads the flag. Both stores are interlocked (full fences), so at least one side sees the other's store: a
    /// plain or volatile store could wait in the store buffer past the load, and both sides would miss.
    /// </remarks>
    public void MarkUnregistered()
    {
        Interlocked.Exchange(ref _unregistered, 1);
        if (Volatile.Read(ref _running) != 0)
        {
            vm.ReportCallbackAfterUnregister("a callback was still running when unregister returned");
        }
    }

    private bool Age(Hva start, Hva end, bool clear, bool flush)
    {
        Enter();
        try
        {
            return vm.OnAge(start, end, clear, flush);
        }
        finally
        {
            Exit();
        }
    }

    private void Enter()
    {
        Interlocked.Increment(ref _running); // full fence before the flag is read: see MarkUnregistered
        if (Volatile.Read(ref _unregistered) != 0)
        {
            vm.ReportCallbackAfterUnregister("a callback started after unregister returned");
        }
    }

    private void Exit() => Interlocked.Decrement(ref _running);
}
