using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// Walks the allocated last-level tables covering [start, end) virtual pages, in address order, without
/// allocating: <c>for (var w = new TableWalk(pt, s, e); w.MoveNext();) { ... w.Table.Slots[w.From..w.To] ... }</c>.
/// Caller holds the address space's mmap lock, which keeps the tables from being freed.
/// </summary>
internal struct TableWalk
{
    private readonly PageTable _pageTable;
    private readonly ulong _end;
    private ulong _next;

    public TableWalk(PageTable pageTable, ulong startVpn, ulong endVpn)
    {
        _pageTable = pageTable;
        _end = endVpn;
        _next = startVpn;
        BaseVpn = 0;
        Table = null!;
        From = 0;
        To = 0;
    }

    /// <summary>Virtual page of the current table's entry 0.</summary>
    public ulong BaseVpn { get; private set; }

    public PteTable Table { get; private set; }

    /// <summary>First entry of the current table inside the walked range.</summary>
    public int From { get; private set; }

    /// <summary>One past the last entry of the current table inside the walked range.</summary>
    public int To { get; private set; }

    public bool MoveNext()
    {
        while (_next < _end)
        {
            var baseVpn = _next & ~(ulong)(PteTable.Entries - 1);
            var from = _next;
            _next = baseVpn + PteTable.Entries;
            if (_pageTable.Find(baseVpn) is { } table)
            {
                BaseVpn = baseVpn;
                Table = table;
                From = (int)(from - baseVpn);
                To = (int)(Math.Min(_end, _next) - baseVpn);
                return true;
            }
        }

        return false;
    }
}
