using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary><c>remap_file_pages</c>: nonlinear file mappings (until v4.0).</summary>
public sealed partial class AddressSpace
{
    /// <summary>The index in its file of the page mapped at <paramref name="hva"/>, or null if no file VMA maps it.</summary>
    public long? FileIndexAt(Hva hva)
    {
        using var _ = ReadLock();
        return FindVma(hva) is { File: not null } vma ? vma.FileIndex(hva.PageNumber) : null;
    }

    /// <summary>
    /// <c>sys_remap_file_pages</c> over the whole shared file VMA at <paramref name="start"/>, before any page is
    /// faulted in, swapping each even/odd pair of file pages (see <see cref="Vma.FileIndex"/>): in the legacy profile
    /// the VMA becomes <c>VM_NONLINEAR</c> and moves from <c>i_mmap</c> to the file's nonlinear list
    /// (<c>vma_nonlinear_insert</c>), so reclaim reaches its pages only by <c>try_to_unmap_cluster</c>. A file with
    /// dirty accounting keeps a linear VMA ("page_mkclean doesn't work on nonlinear vmas", so the kernel emulates the
    /// call with linear VMAs), and so does the modern profile (nonlinear mappings were removed in v4.0; the model
    /// keeps the layout identical there). Returns false if no shared file VMA starts there.
    /// </summary>
    public bool RemapFilePagesNonlinear(Hva start)
    {
        using var _ = WriteLock();
        if (FindVma(start) is not { File: { IsXip: false } file } vma || vma.Start != start || !vma.IsShared)
        {
            return false; // remap_file_pages requires VM_SHARED
        }

        if (Profile == NotifierProfile.Modern || file.WriteNotify || vma.IsNonlinear)
        {
            return true;
        }

        file.IMmapLock.EnterWriteLock();
        try
        {
            file.UnlinkVma(vma);
            vma.IsNonlinear = true;
            file.LinkVma(vma);
        }
        finally
        {
            file.IMmapLock.ExitWriteLock();
        }

        return true;
    }
}
