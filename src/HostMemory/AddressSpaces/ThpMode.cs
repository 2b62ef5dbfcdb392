namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// When anonymous faults get a transparent huge page (<c>/sys/kernel/mm/transparent_hugepage/enabled</c>, per address
/// space here so that guests of one host can differ).
/// </summary>
public enum ThpMode
{
    /// <summary>Never: every page is 4 KiB.</summary>
    Never,

    /// <summary>Every private anonymous VMA whose 2 MiB-aligned range holds the fault address (unless <c>MADV_NOHUGEPAGE</c>).</summary>
    Always,

    /// <summary>Only VMAs marked with <c>madvise(MADV_HUGEPAGE)</c> (<c>VM_HUGEPAGE</c>).</summary>
    Madvise,
}
