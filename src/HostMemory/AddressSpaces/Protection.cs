namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>VMA protection (<c>PROT_*</c>).</summary>
[Flags]
public enum Protection : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}
