using System.Diagnostics;
using Hypervisor.HostMemory.Locking;
using Hypervisor.HostMemory.Rmap;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>The file side of the reverse map: <c>mapping-&gt;i_mmap</c> and <c>i_mmap_rwsem</c>.</summary>
public sealed partial class FileObject
{
    private readonly RwSemaphore _iMmapLock = new();

    /// <summary>The id page-cache frames of this file store in their mapping field.</summary>
    public ushort RmapId { get; private set; }

    /// <summary><c>i_mmap</c>: every VMA mapping this file, by page interval. Guarded by <see cref="IMmapLock"/>.</summary>
    internal VmaIntervalSet IMmap { get; } = new();

    /// <summary><c>i_mmap_nonlinear</c>: the nonlinear VMAs of this file, a plain list. Guarded by <see cref="IMmapLock"/>.</summary>
    internal List<Vma> IMmapNonlinear { get; } = [];

    /// <summary><c>i_mmap_rwsem</c>: read for rmap walks, write to link, unlink or resize a VMA of this file.</summary>
    internal RwSemaphore IMmapLock => _iMmapLock;

    internal void RegisterRmap(RmapRegistry registry) => RmapId = registry.Register(this);

    /// <summary>
    /// <c>vma_interval_tree_insert</c> (or <c>vma_nonlinear_insert</c> for a nonlinear VMA) under
    /// <c>i_mmap_lock_write</c>.
    /// </summary>
    internal void LinkVma(Vma vma)
    {
        Debug.Assert(_iMmapLock.IsWriteLockHeld, "i_mmap is changed under i_mmap_rwsem for write");
        if (vma.IsNonlinear)
        {
            IMmapNonlinear.Add(vma);
        }
        else
        {
            IMmap.Insert(vma);
        }
    }

    /// <summary><c>unlink_file_vma</c> / <c>__remove_shared_vm_struct</c>.</summary>
    internal void UnlinkVma(Vma vma)
    {
        Debug.Assert(_iMmapLock.IsWriteLockHeld, "i_mmap is changed under i_mmap_rwsem for write");
        if (vma.IsNonlinear)
        {
            IMmapNonlinear.Remove(vma);
        }
        else
        {
            IMmap.Remove(vma);
        }
    }
}
