using Hypervisor.Mirrors.Common;

namespace Hypervisor.GuestModel.Clients;

/// <summary>
/// A secondary MMU other than the guest's VM, declared in a scenario (key <c>clients</c>): it mirrors the first
/// memory slot of <see cref="Guest"/>'s VMM address space, beside the VM, and runs on its own thread.
/// </summary>
public sealed record ClientSpec
{
    /// <summary>Keys of an entry of <c>clients</c>.</summary>
    public static IReadOnlyList<string> Fields { get; } = ["name", "kind", "guest", "size", "remoteLatencyMicros", "commandMicros"];

    /// <summary>Name, <c>[a-z0-9-]+</c>, unique among clients.</summary>
    public required string Name { get; init; }

    public required ClientKind Kind { get; init; }

    /// <summary>The guest whose VMM address space the client mirrors.</summary>
    public required string Guest { get; init; }

    /// <summary>Bytes mirrored from the start of the guest's first slot; 0 for the whole slot.</summary>
    public long Size { get; init; }

    /// <summary>XPMEM only: also attach a remote importer with this one-way latency; null for a local importer only.</summary>
    public long? RemoteLatencyMicros { get; init; }

    /// <summary>
    /// HMM only: how long each device command (a read or write of a chunk) keeps the mirror's mutex, as a DMA
    /// transfer under <c>dmirror-&gt;mutex</c> would; 0 for a copy as fast as the model runs.
    /// </summary>
    public long CommandMicros { get; init; }
}
