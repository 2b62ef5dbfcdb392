namespace Hypervisor.HostMemory.Scheduling;

/// <summary>What a thread was doing when it reached a scheduling point; part of every recorded step.</summary>
public enum SchedulingPointKind : byte
{
    /// <summary>A plain step (a guest access, a loop iteration) where another thread may run first.</summary>
    Step = 0,

    /// <summary>About to take a lock (<c>spin_lock</c>, <c>down_read</c>, <c>mutex_lock</c>, <c>folio_lock</c>).</summary>
    Acquire,

    /// <summary>Just dropped a lock.</summary>
    Release,

    /// <summary>An atomic read-modify-write or a publishing store on protocol state.</summary>
    Atomic,

    /// <summary>A named protocol window: a place where the kernel can be preempted or another CPU can act.</summary>
    Window,

    /// <summary>A blocking wait (a lock held by another thread, a wait queue, an event): the thread cannot run until it is woken.</summary>
    Wait,

    /// <summary>One turn of a spin loop: the thread runs again only after another thread took a step.</summary>
    Spin,

    /// <summary>A timed sleep in virtual time.</summary>
    Sleep,

    /// <summary>A new controlled thread was started.</summary>
    Start,

    /// <summary>A controlled thread's body returned.</summary>
    Finish,
}
