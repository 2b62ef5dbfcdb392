namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>The size of the host mapping of an address, as <c>host_pfn_mapping_level</c> reports it (KVM's <c>PG_LEVEL_*</c>).</summary>
public enum HostPageLevel
{
    /// <summary>A 4 KiB PTE, or nothing mapped (the kernel answers 4K then too).</summary>
    Page4K = 1,

    /// <summary>A PMD leaf: 2 MiB mapped by one entry.</summary>
    Pmd2M = 2,
}
