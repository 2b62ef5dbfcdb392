namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// <c>kvm-&gt;mmu_lock</c>: a spinning reader-writer lock, as x86 KVM's is. Faults hold it for read for a few hundred
/// nanoseconds; invalidations hold it for write across their zap and TLB shootdown. A waiting writer stops new
/// readers (writer preference), so a stream of faults cannot starve an invalidation. Waiters spin briefly, then
/// sleep: on an oversubscribed host the holder (or the vCPU a flushing holder waits for) needs the core, and on
/// Linux a yield does not hand it over.
/// </summary>
internal sealed class MmuLock
{
    private const int WriterHeld = 1 << 30;
    private const int WriterWaiting = 1 << 29;
    private const int ReaderMask = WriterWaiting - 1;

    // Serializes writers among themselves (only one sets WriterWaiting or WriterHeld at a time).
    private readonly Lock _writers = new();

    // Reader count in the low bits, plus the writer bits above.
    private int _state;

    public void EnterRead()
    {
        var spin = new SpinWait();
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if ((state & (WriterHeld | WriterWaiting)) == 0 && Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                return;
            }

            // Named wait: a writer holds or wants the lock.
            spin.SpinOnce(sleep1Threshold: 20);
        }
    }

    public void ExitRead() => Interlocked.Decrement(ref _state);

    public void EnterWrite()
    {
        _writers.Enter();
        Interlocked.Or(ref _state, WriterWaiting);
        var spin = new SpinWait();
        // Named wait: readers already inside drain; new ones are held off by WriterWaiting.
        while (Interlocked.CompareExchange(ref _state, WriterHeld, WriterWaiting) != WriterWaiting)
        {
            spin.SpinOnce(sleep1Threshold: 20);
        }
    }

    /// <summary>Takes the lock for write only if nobody holds or waits for it (the non-blockable path).</summary>
    public bool TryEnterWrite()
    {
        if (!_writers.TryEnter())
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _state, WriterHeld, 0) == 0)
        {
            return true;
        }

        _writers.Exit();
        return false;
    }

    public void ExitWrite()
    {
        Volatile.Write(ref _state, 0);
        _writers.Exit();
    }
}
