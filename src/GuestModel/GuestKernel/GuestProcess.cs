namespace Hypervisor.GuestModel.GuestKernel;

/// <summary>
/// A guest process: an address space with its own 4-level page tables (CR3 points at <see cref="Cr3"/>) and a PCID.
/// Changed only by the vCPU that runs it.
/// </summary>
public sealed class GuestProcess(int pcid, ulong cr3)
{
    /// <summary>The PCID tagging its TLB entries (1 to 4095).</summary>
    public int Pcid { get; } = pcid;

    /// <summary>The guest frame of its top-level table.</summary>
    public ulong Cr3 { get; } = cr3;

    /// <summary>Every guest frame holding one of its tables, the top one included.</summary>
    public HashSet<ulong> TableFrames { get; } = [cr3];

    public override string ToString() => $"process pcid {Pcid} cr3 0x{Cr3:x}";
}
