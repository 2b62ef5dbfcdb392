using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Faults on execute-in-place files (<c>xip_file_fault</c>, mm/filemap_xip.c).</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>xip_file_fault</c>: a shared writable mapping allocates the block of a hole (<c>get_xip_mem(create)</c>),
    /// unmaps the sparse page from every other mapping of that offset (<c>__xip_unmap</c>) and maps the block
    /// (<c>vm_insert_mixed</c>). Any other mapping maps an existing block, or the sparse page read-only for a hole
    /// (<c>vm_insert_page(xip_sparse_page())</c>). A private write then copies (<c>do_wp_page</c>).
    /// </summary>
    private HostStatus XipFault(Vma vma, ulong vpn, PteTable table, int i, bool write)
    {
        var file = vma.File!;
        var index = vma.FileIndex(vpn);
        if (index < 0 || index >= file.Pages)
        {
            return HostStatus.NoVma;
        }

        Host.Count(HostCounter.FileFaults);
        var sharedWritable = vma.IsShared && vma.CanWrite;
        if (sharedWritable)
        {
            var status = file.GetXipBlock(index, Memory, out var block, out var created);
            if (status != HostStatus.Ok)
            {
                return CountFailure(status);
            }

            if (created)
            {
                file.XipUnmap(Host, index);
            }

            return InstallXipBlock(table, i, block, writable: true, write);
        }

        if (file.XipBlock(index) is { } existing)
        {
            return InstallXipBlock(table, i, existing, writable: false, write: false);
        }

        if (file.TryMapSparse(index, () => InstallIfNone(table, i, Pte.Make(Pfn.Zero, Pte.Accessed))))
        {
            return HostStatus.Ok;
        }

        // The block appeared while we looked: map it.
        return file.XipBlock(index) is { } raced ? InstallXipBlock(table, i, raced, writable: false, write: false) : HostStatus.Ok;
    }

    /// <summary>
    /// A write to a shared mapping's sparse-page PTE (the mapping was made writable after a read fault): the hole gets
    /// its block and <c>__xip_unmap</c> removes this PTE with the others; the caller's retry maps the block.
    /// </summary>
    private HostStatus XipWriteOverSparse(Vma vma, ulong vpn)
    {
        var file = vma.File!;
        var index = vma.FileIndex(vpn);
        var status = file.GetXipBlock(index, Memory, out _, out _);
        if (status != HostStatus.Ok)
        {
            return CountFailure(status);
        }

        file.XipUnmap(Host, index);
        return HostStatus.Ok;
    }

    private HostStatus InstallXipBlock(PteTable table, int i, Pfn block, bool writable, bool write)
    {
        Memory.Get(block); // the mapping's reference; the file keeps its own
        var bits = Pte.Accessed | (writable ? Pte.Writable : 0) | (write ? Pte.Dirty : 0);
        Install(table, i, block, bits, takeOverRef: true);
        return HostStatus.Ok;
    }

    /// <summary>Installs <paramref name="pte"/> (no reference, no map count: the sparse page) if the slot is empty.</summary>
    private static bool InstallIfNone(PteTable table, int i, ulong pte)
    {
        using (table.Ptl.Enter())
        {
            if (table.Slots[i] != 0)
            {
                return false;
            }

            Volatile.Write(ref table.Slots[i], pte);
            table.Used++;
            return true;
        }
    }
}
