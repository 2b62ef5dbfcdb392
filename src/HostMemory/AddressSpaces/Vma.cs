namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// A virtual memory area (<c>struct vm_area_struct</c>): [<see cref="Start"/>, <see cref="End"/>) with one
/// backing and one protection. Changed only under the owning address space's mmap write lock.
/// </summary>
public sealed class Vma
{
    internal Vma(Hva start, Hva end, VmaKind kind, Protection protection, FileObject? file, long filePageOffset)
    {
        Start = start;
        End = end;
        Kind = kind;
        Protection = protection;
        File = file;
        FilePageOffset = filePageOffset;
    }

    public Hva Start { get; internal set; }

    public Hva End { get; internal set; }

    public VmaKind Kind { get; }

    public Protection Protection { get; internal set; }

    /// <summary>The file or shared-memory object behind the VMA; null for private anonymous memory.</summary>
    public FileObject? File { get; }

    /// <summary>File page mapped at <see cref="Start"/>.</summary>
    public long FilePageOffset { get; internal set; }

    public ulong Pages => (End.Value - Start.Value) >> Hva.PageShift;

    public bool IsShared => Kind is VmaKind.AnonymousShared or VmaKind.FileShared;

    /// <summary><c>is_cow_mapping</c>: private, so writes after fork or to page-cache pages copy.</summary>
    public bool IsCowMapping => !IsShared;

    public bool CanRead => (Protection & Protection.Read) != 0;

    public bool CanWrite => (Protection & Protection.Write) != 0;

    public bool Contains(Hva hva) => hva >= Start && hva < End;

    /// <summary>Index in <see cref="File"/> of the page mapped at virtual page <paramref name="vpn"/>.</summary>
    public long FileIndex(ulong vpn) => FilePageOffset + (long)(vpn - Start.PageNumber);

    internal Vma CloneRange(Hva start, Hva end) =>
        new(start, end, Kind, Protection, File, FilePageOffset + (long)((start.Value - Start.Value) >> Hva.PageShift));

    public override string ToString() => $"[{Start}, {End}) {Kind} {Protection}";
}
