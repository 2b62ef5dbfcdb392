namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>What backs a VMA.</summary>
public enum VmaKind : byte
{
    /// <summary><c>MAP_PRIVATE|MAP_ANONYMOUS</c>: zero-filled, copy-on-write after fork, swappable.</summary>
    AnonymousPrivate,
    /// <summary><c>MAP_SHARED|MAP_ANONYMOUS</c>: a shared-memory object, shared with fork children.</summary>
    AnonymousShared,
    /// <summary><c>MAP_PRIVATE</c> of a file: page-cache pages read-only, copied on write.</summary>
    FilePrivate,
    /// <summary><c>MAP_SHARED</c> of a file: page-cache pages, written back when dirty.</summary>
    FileShared,
}
