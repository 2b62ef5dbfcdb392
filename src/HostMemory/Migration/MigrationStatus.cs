namespace Hypervisor.HostMemory.Migration;

/// <summary>Outcome of moving one page to a new frame.</summary>
public enum MigrationStatus : byte
{
    /// <summary>Every mapping now maps a new frame with the old content and permissions; the old frame is freed.</summary>
    Migrated,
    /// <summary>Nothing present is mapped at the address.</summary>
    NotMapped,
    /// <summary>The zero page, a KSM page, or a page of a kind that is not moved.</summary>
    Unmovable,
    /// <summary>An address space that may map the page had its mmap lock busy; try again later.</summary>
    Busy,
    /// <summary>Someone else held a reference (a pin, a racing fault or writeback): the page was put back (<c>-EAGAIN</c>).</summary>
    Pinned,
    /// <summary>No frame for the copy.</summary>
    OutOfMemory,
}
