using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// The file side of the reverse map, computed from the VMAs instead of stored per frame (the role of
/// <c>i_mmap</c>): where a VMA maps page <c>index</c> of a file.
/// </summary>
internal static class FileMappings
{
    /// <summary>The address at which <paramref name="vma"/> maps page <paramref name="index"/> of <paramref name="file"/>, if it does.</summary>
    public static bool TryAddressOf(Vma vma, FileObject file, long index, out Hva hva)
    {
        var offset = index - vma.FilePageOffset;
        if (!ReferenceEquals(vma.File, file) || offset < 0 || (ulong)offset >= vma.Pages)
        {
            hva = default;
            return false;
        }

        hva = vma.Start.AddPages((ulong)offset);
        return true;
    }
}
