using System.Diagnostics;
using Hypervisor.HostMemory.Locking;

namespace Hypervisor.HostMemory.Cpus;

/// <summary>
/// The host's CPUs as far as lockless page-table walkers care: whether each has interrupts disabled. A walker that
/// must not see its page tables freed (<c>gup_fast</c>, KVM's <c>host_pfn_mapping_level</c>) runs inside
/// <see cref="LocalIrqSave"/> on a model CPU; <see cref="SendIpiToAllAndWait"/> (<c>smp_call_function(..., wait=1)</c>)
/// completes only once every CPU has taken the interrupt, which a CPU with interrupts off does only when it enables
/// them again. That is the whole reason an IPI, or an RCU-sched grace period (<see cref="CallRcu"/>), keeps a freed
/// page table away from such a walker.
/// </summary>
/// <remarks>
/// Model CPUs are not threads. Each thread has a home CPU (threads are spread round-robin over them); an IRQ-off
/// section claims its thread's home CPU, or any other CPU whose interrupts are on, and waits when every CPU is busy
/// (a CPU runs one thread at a time). There may be more model CPUs than cores: a CPU whose thread the OS preempted
/// inside a section simply keeps its interrupts off until the thread runs again, as a vCPU of a virtualised host
/// does when its hypervisor deschedules it.
/// Each CPU's state is a sequence number, odd while interrupts are off: a sender that saw an odd value waits for it
/// to change, and a section that starts after that snapshot started after everything the sender did before it.
/// </remarks>
public sealed partial class HostCpus
{
    private static int s_nextHome;

    [ThreadStatic]
    private static int t_home;

    [ThreadStatic]
    private static HostCpus? t_owner;

    [ThreadStatic]
    private static int t_cpu;

    [ThreadStatic]
    private static int t_depth;

    // Padded so that two CPUs' states never share a cache line (a walker writes its own twice per section).
    private const int Stride = 16;
    private readonly int[] _irqSeq;
    private readonly HostSystem _host;

    internal HostCpus(HostSystem host, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _host = host;
        Count = count;
        _irqSeq = new int[count * Stride];
    }

    /// <summary>Number of model CPUs.</summary>
    public int Count { get; }

    /// <summary>True if the calling thread is inside an IRQ-off section (on any model CPU of this host).</summary>
    public bool IrqsDisabledHere => ReferenceEquals(t_owner, this) && t_depth > 0;

    /// <summary>Number of CPUs with interrupts off right now (a snapshot, for statistics).</summary>
    public int CpusWithIrqsOff()
    {
        var n = 0;
        for (var c = 0; c < Count; c++)
        {
            n += Volatile.Read(ref _irqSeq[c * Stride]) & 1;
        }

        return n;
    }

    /// <summary>
    /// <c>local_irq_save</c>: disables interrupts on a model CPU for the calling thread until the scope is disposed
    /// (<c>local_irq_restore</c>). Nests. Nothing inside may wait for another CPU (no IPI, no RCU barrier, no lock that
    /// an IPI sender may hold while it waits).
    /// </summary>
    public IrqOffScope LocalIrqSave()
    {
        if (ReferenceEquals(t_owner, this) && t_depth > 0)
        {
            t_depth++;
            return new IrqOffScope(this);
        }

        if (t_home == 0)
        {
            t_home = Interlocked.Increment(ref s_nextHome);
        }

        var home = t_home % Count;
        var cpu = TryClaim(home);
        if (cpu < 0)
        {
            // Every CPU runs a section: wait for one, as a thread waits to be scheduled.
            HostWait.Until(this, static self => self.AnyCpuFree(), "local_irq_save: a free CPU");
            return LocalIrqSave();
        }

        t_owner = this;
        t_cpu = cpu;
        t_depth = 1;
        return new IrqOffScope(this);
    }

    /// <summary><c>local_irq_restore</c> of the outermost section: interrupts back on, pending IPIs and RCU work run.</summary>
    internal void LocalIrqRestore()
    {
        Debug.Assert(IrqsDisabledHere, "local_irq_restore pairs with local_irq_save on the same thread");
        if (--t_depth > 0)
        {
            return;
        }

        // Release: every load of the section happens before a sender can see the CPU leave it.
        ref var seq = ref _irqSeq[t_cpu * Stride];
        Volatile.Write(ref seq, seq + 1);
        t_owner = null;
        if (Volatile.Read(ref _rcuPending) != 0)
        {
            RcuPoll(); // this CPU's quiescent state may complete a grace period
        }
    }

    /// <summary>
    /// <c>smp_call_function(do_nothing, NULL, 1)</c> to every CPU, as <c>tlb_remove_table_sync_one</c> and the IPI TLB
    /// shootdown send it: returns once each CPU has taken the interrupt. A CPU with interrupts on takes it at once; one
    /// inside an IRQ-off section takes it when the section ends. The caller must have interrupts on (sending with them
    /// off can deadlock two senders against each other, which the kernel warns about).
    /// </summary>
    public void SendIpiToAllAndWait()
    {
        Debug.Assert(!IrqsDisabledHere, "smp_call_function with interrupts disabled deadlocks against another sender");

        // Everything the caller did before (unhooking a table) is visible to any section that starts after the snapshot.
        Interlocked.MemoryBarrier();
        _host.Count(HostCounter.IpisSent, Count);
        for (var c = 0; c < Count; c++)
        {
            var seq = Volatile.Read(ref _irqSeq[c * Stride]);
            if ((seq & 1) == 0)
            {
                continue;
            }

            _host.Count(HostCounter.IpiWaits);
            HostWait.Until((Cpus: this, Slot: c * Stride, Seq: seq),
                static s => Volatile.Read(ref s.Cpus._irqSeq[s.Slot]) != s.Seq, "IPI: a CPU with interrupts off");
        }
    }

    private int TryClaim(int home)
    {
        for (var k = 0; k < Count; k++)
        {
            var c = (home + k) % Count;
            ref var seq = ref _irqSeq[c * Stride];
            var s = Volatile.Read(ref seq);
            // The compare-exchange is a full barrier: the walker's page-table loads cannot move above it.
            if ((s & 1) == 0 && Interlocked.CompareExchange(ref seq, s + 1, s) == s)
            {
                return c;
            }
        }

        return -1;
    }

    private bool AnyCpuFree()
    {
        for (var c = 0; c < Count; c++)
        {
            if ((Volatile.Read(ref _irqSeq[c * Stride]) & 1) == 0)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>An IRQ-off section on a model CPU (<see cref="HostCpus.LocalIrqSave"/>); disposing it restores interrupts.</summary>
public readonly ref struct IrqOffScope
{
    private readonly HostCpus _cpus;

    internal IrqOffScope(HostCpus cpus) => _cpus = cpus;

    public void Dispose() => _cpus.LocalIrqRestore();
}
