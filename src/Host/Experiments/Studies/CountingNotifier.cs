using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>
/// A notifier that does nothing but count its invalidation callbacks (<c>invalidate_page</c>, range start, range
/// end): the number of hooks a host operation runs. With <see cref="Count"/> off it is the "one no-op notifier" of
/// the disarmed-cost experiment.
/// </summary>
internal sealed class CountingNotifier(bool count = true) : IMmuNotifier
{
    private long _pages;
    private long _starts;
    private long _ends;

    public bool Count { get; } = count;

    public long Pages => Interlocked.Read(ref _pages);

    public long Starts => Interlocked.Read(ref _starts);

    public long Ends => Interlocked.Read(ref _ends);

    /// <summary>Every invalidation callback so far.</summary>
    public long Callbacks => Pages + Starts + Ends;

    public void Reset()
    {
        Interlocked.Exchange(ref _pages, 0);
        Interlocked.Exchange(ref _starts, 0);
        Interlocked.Exchange(ref _ends, 0);
    }

    public void Release(AddressSpace mm)
    {
    }

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        if (Count)
        {
            Interlocked.Increment(ref _starts);
        }

        return true;
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
        if (Count)
        {
            Interlocked.Increment(ref _ends);
        }
    }

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
        if (Count)
        {
            Interlocked.Increment(ref _pages);
        }
    }

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;
}
