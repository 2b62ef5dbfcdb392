namespace Hypervisor.HostMemory.Diagnostics;

/// <summary>
/// A kind of coherence violation. Open ended: upper layers (the shadow MMU, the guest oracle) declare their
/// own kinds with <see cref="ViolationKind(string)"/>; the names are the stable keys used in summaries and logs.
/// </summary>
public readonly record struct ViolationKind(string Name)
{
    /// <summary>Any read or write of a frame that is on the free list.</summary>
    public static readonly ViolationKind UseAfterFree = new("use-after-free");

    /// <summary>A free frame's poison word was overwritten before the frame was reallocated.</summary>
    public static readonly ViolationKind WriteAfterFree = new("write-after-free");

    /// <summary>A page reference was dropped more often than it was taken.</summary>
    public static readonly ViolationKind RefcountUnderflow = new("refcount-underflow");

    /// <summary>start/end unbalanced, a counter below zero, or a blockable start refused.</summary>
    public static readonly ViolationKind NotifierProtocol = new("notifier-protocol");

    /// <summary>
    /// A present PTE grants write in a VMA without write permission, seen under the mmap lock (which mprotect holds
    /// for write across its whole change, so no mprotect is half done): the host itself lets the secondary MMU map
    /// read-only memory writable.
    /// </summary>
    public static readonly ViolationKind WritableInReadOnlyVma = new("writable-in-read-only-vma");

    public override string ToString() => Name;
}
