namespace Hypervisor.HostMemory;

/// <summary>
/// What <c>GetUserPages</c> resolved: on <see cref="HostStatus.Ok"/> the caller holds one reference on
/// <see cref="Pfn"/> that it must drop exactly once with <see cref="Physical.PhysicalMemory.Put"/>.
/// </summary>
/// <param name="Status">Ok, or why no page could be resolved.</param>
/// <param name="Pfn">The host frame mapped at the address.</param>
/// <param name="Writable">The host PTE is writable now (KVM's <c>map_writable</c>).</param>
public readonly record struct GupResult(HostStatus Status, Pfn Pfn, bool Writable)
{
    public static GupResult Failed(HostStatus status) => new(status, default, false);
}
