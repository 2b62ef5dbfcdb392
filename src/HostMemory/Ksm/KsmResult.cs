namespace Hypervisor.HostMemory.Ksm;

/// <summary>What one KSM scan pass did.</summary>
/// <param name="Scanned">Private anonymous pages looked at.</param>
/// <param name="Merged">Pages whose mapping now points at a shared KSM page (their own frame dropped).</param>
/// <param name="StablePagesCreated">Pages turned into KSM pages (write-protected, shared from now on).</param>
/// <param name="SkippedSpaces">Registered address spaces skipped because their mmap lock was busy.</param>
public readonly record struct KsmResult(long Scanned, long Merged, long StablePagesCreated, int SkippedSpaces);
