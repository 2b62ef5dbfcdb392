namespace Hypervisor.HostMemory;

/// <summary>Outcome of a host memory operation as seen by its caller (a result value, never an exception).</summary>
public enum HostStatus : byte
{
    Ok,
    /// <summary>No VMA covers the address (the kernel's <c>SIGSEGV</c> / <c>-EFAULT</c>).</summary>
    NoVma,
    /// <summary>The VMA does not allow the access (write to a read-only mapping).</summary>
    AccessDenied,
    /// <summary>No free frame, even after direct reclaim (<c>VM_FAULT_OOM</c>).</summary>
    OutOfMemory,
    /// <summary>The address space has exited.</summary>
    Dead,
    /// <summary>Bad arguments (unaligned, overlapping, outside any mapping).</summary>
    Invalid,
}
