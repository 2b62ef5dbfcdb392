namespace Hypervisor.HostMemory;

/// <summary>Host-side event counters, summed over every address space of a <see cref="HostSystem"/>.</summary>
public enum HostCounter
{
    AnonymousFaults,
    ZeroPageMaps,
    FileFaults,
    SwapIns,
    CowFaults,
    WriteProtectReuses,
    GetUserPages,
    HostReads,
    HostWrites,
    Forks,
    Munmaps,
    MadviseDontNeeds,
    Mprotects,
    Exits,
    OutOfMemory,
    InvalidateRangeStarts,
    InvalidatePages,
    RefusedStarts,
    SwapOuts,
    Writebacks,
    Migrations,
    KsmMerges,
    KsmUnmerges,
    OomReaps,
    AgingScans,
    YoungFromSecondary,
}
