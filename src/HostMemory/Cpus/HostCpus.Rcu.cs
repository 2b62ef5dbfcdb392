using Hypervisor.HostMemory.Locking;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Cpus;

/// <summary>
/// RCU-sched, as far as page-table freeing needs it (<c>MMU_GATHER_RCU_TABLE_FREE</c>: <c>tlb_remove_table</c> →
/// <c>call_rcu</c>): "We use the sched RCU variant, as that guarantees that IRQ/preempt disabling holds off grace
/// periods". A callback runs once every CPU that was inside an IRQ-off section when it was queued has left that
/// section; CPUs with interrupts on are already quiescent.
/// </summary>
/// <remarks>
/// No thread waits for grace periods: the CPU whose section ends last runs the callbacks that completes
/// (<see cref="LocalIrqRestore"/>), and a callback queued while no CPU has interrupts off runs at once. Callbacks run
/// with no lock of this class held and with interrupts on.
/// </remarks>
public sealed partial class HostCpus
{
    private readonly ProtocolLock _rcuLock = new("rcu callback queue lock");
    private readonly List<RcuCallback> _rcuQueue = [];
    private int _rcuPending;

    /// <summary>Callbacks queued and not run yet.</summary>
    public int RcuPending => Volatile.Read(ref _rcuPending);

    /// <summary>
    /// <c>call_rcu</c> (sched flavour): runs <paramref name="callback"/> after a grace period, on whichever thread ends
    /// it. The caller's earlier stores (the unhooked table) are visible to every section that starts after this call.
    /// </summary>
    public void CallRcu(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Interlocked.MemoryBarrier();
        var waitFor = new List<(int Slot, int Seq)>();
        for (var c = 0; c < Count; c++)
        {
            var seq = Volatile.Read(ref _irqSeq[c * Stride]);
            if ((seq & 1) != 0)
            {
                waitFor.Add((c * Stride, seq));
            }
        }

        _host.Count(HostCounter.RcuCallbacks);
        if (waitFor.Count == 0)
        {
            callback(); // no CPU was in a read-side section: the grace period is already over
            return;
        }

        using (_rcuLock.EnterScope())
        {
            _rcuQueue.Add(new RcuCallback(callback, [.. waitFor]));
            Volatile.Write(ref _rcuPending, _rcuQueue.Count);
        }

        RcuPoll(); // a section may have ended meanwhile, with nothing queued yet to complete
    }

    /// <summary><c>rcu_barrier</c>: waits until every callback queued so far has run. Interrupts must be on.</summary>
    public void RcuBarrier()
    {
        System.Diagnostics.Debug.Assert(!IrqsDisabledHere, "rcu_barrier inside an IRQ-off section waits for itself");
        HostWait.Until(this, static self =>
        {
            self.RcuPoll();
            return self.RcuPending == 0;
        }, "rcu_barrier");
    }

    /// <summary>Runs every queued callback whose grace period is over.</summary>
    private void RcuPoll()
    {
        List<Action>? ready = null;
        using (_rcuLock.EnterScope())
        {
            for (var i = _rcuQueue.Count - 1; i >= 0; i--)
            {
                if (GracePeriodOver(_rcuQueue[i].WaitFor))
                {
                    (ready ??= []).Add(_rcuQueue[i].Callback);
                    _rcuQueue.RemoveAt(i);
                }
            }

            Volatile.Write(ref _rcuPending, _rcuQueue.Count);
        }

        if (ready is null)
        {
            return;
        }

        // Queue order, outside the lock (a callback frees memory and may take page-table locks).
        for (var i = ready.Count - 1; i >= 0; i--)
        {
            ready[i]();
        }
    }

    private bool GracePeriodOver((int Slot, int Seq)[] waitFor)
    {
        foreach (var (slot, seq) in waitFor)
        {
            if (Volatile.Read(ref _irqSeq[slot]) == seq)
            {
                return false;
            }
        }

        return true;
    }

    private sealed record RcuCallback(Action Callback, (int Slot, int Seq)[] WaitFor);
}
