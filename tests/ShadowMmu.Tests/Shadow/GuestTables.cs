using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>
/// A minimal guest kernel for the shadow tests: builds 4-level page tables in guest frames taken from the top of a
/// <see cref="TestVm"/>'s memory, every store going through the vCPU as a guest store would.
/// </summary>
internal sealed class GuestTables
{
    private readonly Vcpu _vcpu;
    private ulong _nextFrame;

    public GuestTables(Vcpu vcpu, ulong firstFrame = TestVm.GuestPages - 1)
    {
        _vcpu = vcpu;
        _nextFrame = firstFrame;
        Cr3 = NewTable();
    }

    /// <summary>The frame of this address space's top-level table.</summary>
    public ulong Cr3 { get; }

    public Vcpu Vcpu => _vcpu;

    /// <summary>A zeroed frame for a new table (frames are handed out downwards).</summary>
    public ulong NewTable()
    {
        var frame = _nextFrame--;
        _vcpu.ClearGuestTable(frame);
        return frame;
    }

    /// <summary>The frame of the table at <paramref name="level"/> on the path to <paramref name="gvpn"/>, created if missing.</summary>
    public ulong TableFor(ulong gvpn, int level, bool upperWritable = true)
    {
        var table = Cr3;
        for (var l = Gpte.Levels; l > level; l--)
        {
            var index = Gpte.IndexOf(gvpn, l);
            var gpte = _vcpu.Vm.Shadow!.Tables.Read(table, index);
            if (!Gpte.IsPresent(gpte))
            {
                var fresh = NewTable();
                gpte = Gpte.Make(fresh, upperWritable);
                _vcpu.WriteGuestPte(table, index, gpte);
            }

            table = Gpte.GfnOf(gpte);
        }

        return table;
    }

    /// <summary>Maps guest virtual page <paramref name="gvpn"/> to guest frame <paramref name="gfn"/> (no INVLPG).</summary>
    public void Map(ulong gvpn, ulong gfn, bool writable = true, bool upperWritable = true) =>
        _vcpu.WriteGuestPte(TableFor(gvpn, 1, upperWritable), Gpte.IndexOf(gvpn, 1), Gpte.Make(gfn, writable));

    /// <summary>Clears the leaf gpte of <paramref name="gvpn"/> (no INVLPG).</summary>
    public void Unmap(ulong gvpn) => _vcpu.WriteGuestPte(TableFor(gvpn, 1), Gpte.IndexOf(gvpn, 1), 0);

    /// <summary>Loads this address space's CR3 with <paramref name="pcid"/>.</summary>
    public void Load(int pcid = 1) => _vcpu.LoadCr3(Cr3, pcid);
}
