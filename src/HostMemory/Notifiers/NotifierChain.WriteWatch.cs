using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Notifiers;

/// <summary>Write-watching the frames a range start is about to downgrade or remove.</summary>
public sealed partial class NotifierChain
{
    /// <summary>
    /// After every ordinary notifier's start returned (KVM has zapped and flushed the range), marks each frame the range
    /// maps writable (<see cref="Physical.FrameState.WriteWatch"/>): from here on no secondary MMU may store into it
    /// through this range, unless the host maps it writable there again. Every start is a downgrade or a removal
    /// (unmap, clear, protection, migration), so every start marks. The walk is lockless: the caller holds the mmap lock
    /// or the rmap lock of the range's VMA, so no table of the range is freed under it, and a table freed anyway holds
    /// poison entries, which are not present.
    /// </summary>
    private void WatchWritable(in NotifierRange range)
    {
        var memory = _mm.Host.Memory;
        var pageTable = _mm.PageTable;
        var end = range.End.PageNumber;
        for (var vpn = range.Start.PageNumber; vpn < end; vpn = (vpn | (PteTable.Entries - 1)) + 1)
        {
            var table = pageTable.Find(vpn);
            if (table is null)
            {
                continue;
            }

            var last = (int)Math.Min(end - (vpn & ~(ulong)(PteTable.Entries - 1)), PteTable.Entries);
            for (var j = PageTable.PteIndex(vpn); j < last; j++)
            {
                var pte = table.EntryAt(j);
                if ((pte & (Pte.Present | Pte.Writable)) == (Pte.Present | Pte.Writable))
                {
                    memory.SetWriteWatch(Pte.PfnOf(pte));
                }
            }
        }
    }
}
