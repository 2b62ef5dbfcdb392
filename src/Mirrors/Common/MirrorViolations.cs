using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.Mirrors.Common;

/// <summary>The checker's findings specific to the non-KVM secondary MMUs (freed frames are the host's own kinds).</summary>
public static class MirrorViolations
{
    /// <summary>A device or remote entry maps a frame the primary no longer maps there (outside any invalidation).</summary>
    public static readonly ViolationKind StaleMapping = new("mirror-stale-mapping");

    /// <summary>A device entry allows writes the primary does not allow.</summary>
    public static readonly ViolationKind WriteBeyondHost = new("mirror-write-beyond-host");
}
