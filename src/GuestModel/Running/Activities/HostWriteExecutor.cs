using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>The VMM writes into guest RAM through its own mapping (device emulation, DMA).</summary>
public sealed class HostWriteExecutor : IActivityExecutor
{
    public string Kind => "host-write";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (HostWriteParameters)spec.Parameters;
        var done = 0;
        var result = GuestRanges.ForEachPiece(guest, parameters.Range, HostEventKind.HostWrite, (slot, _, _, first) =>
        {
            var pages = slot.EndPage - first;
            for (var i = 0; i < parameters.Writes && !context.Control.StopRequested; i++)
            {
                var page = first + context.Random.NextInt64(Math.Min(pages, parameters.Range.Pages));
                if (slot.Spec.ReadOnly && !parameters.ViaFile)
                {
                    continue; // the VMM maps a read-only slot read-only; its file can still be written
                }

                var value = guest.Oracle.NextHostValue(page);
                var ownerSeq = guest.Oracle.OwnerSeqBefore(page);
                var status = parameters.ViaFile
                    ? WriteFile(guest, slot, page, value)
                    : guest.Mm.HostWrite(slot.HvaOfPage(page), value);
                if (status == HostStatus.Ok)
                {
                    done++;
                    if (parameters.ViaFile && slot.Spec.Backing == VmaKind.FileShared)
                    {
                        guest.Oracle.HostWroteVisible(page, value, ownerSeq); // the file is what the guest maps
                    }
                }
            }

            return HostStatus.Ok;
        });
        return $"{result} ({done} writes)";
    }

    /// <summary>
    /// <c>write(2)</c> of one page of the slot's file: <c>xip_file_write</c> on an execute-in-place file, otherwise a
    /// store into the page-cache page (<c>generic_perform_write</c>), which every shared mapping of it sees at once.
    /// </summary>
    private static HostStatus WriteFile(GuestInstance guest, SlotLayout slot, long page, ulong value)
    {
        if (slot.File is not { } file)
        {
            return HostStatus.NoVma; // an anonymous slot has no file to write
        }

        var host = guest.Mm.Host;
        if (guest.Mm.FileIndexAt(slot.HvaOfPage(page)) is not { } index)
        {
            return HostStatus.NoVma;
        }

        if (file.IsXip)
        {
            return file.XipWrite(host, index, value);
        }

        var status = file.GetPage(index, host.Memory, out var pfn);
        if (status == HostStatus.Ok)
        {
            host.Memory.LockPage(pfn); // write_begin: folio_lock
            host.Memory.Write(pfn, value, new HostMemory.Diagnostics.AccessSite("write", -1, (ulong)index));
            host.Memory.MarkDirty(pfn);
            host.Memory.UnlockPage(pfn);
            host.Memory.Put(pfn);
        }

        return status;
    }
}
