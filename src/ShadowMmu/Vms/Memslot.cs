using Hypervisor.HostMemory;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// A memslot (<c>struct kvm_memory_slot</c>): guest frames [<see cref="BaseGfn"/>, BaseGfn + <see cref="Pages"/>)
/// backed by host virtual memory starting at <see cref="UserspaceAddress"/>.
/// </summary>
/// <param name="Id">Slot number.</param>
/// <param name="BaseGfn">First guest frame.</param>
/// <param name="Pages">Number of 4 KiB pages.</param>
/// <param name="UserspaceAddress">Host virtual address of the first page (<c>userspace_addr</c>).</param>
/// <param name="ReadOnly"><c>KVM_MEM_READONLY</c>: guest writes exit to the VMM as MMIO.</param>
public sealed record Memslot(int Id, ulong BaseGfn, ulong Pages, Hva UserspaceAddress, bool ReadOnly = false)
{
    public ulong EndGfn => BaseGfn + Pages;

    public Hva EndHva => UserspaceAddress.AddPages(Pages);

    public bool Contains(ulong gfn) => gfn - BaseGfn < Pages;

    /// <summary><c>__gfn_to_hva_memslot</c>.</summary>
    public Hva HvaOf(ulong gfn) => UserspaceAddress.AddPages(gfn - BaseGfn);

    /// <summary>
    /// The gfn range this slot maps for the hva range [start, end), as <c>__kvm_handle_hva_range</c> computes it;
    /// false when they do not overlap.
    /// </summary>
    public bool GfnRangeOf(Hva start, Hva end, out ulong gfnStart, out ulong gfnEnd)
    {
        var hvaStart = Math.Max(start.Value, UserspaceAddress.Value);
        var hvaEnd = Math.Min(end.Value, EndHva.Value);
        if (hvaStart >= hvaEnd)
        {
            gfnStart = gfnEnd = 0;
            return false;
        }

        gfnStart = BaseGfn + ((hvaStart - UserspaceAddress.Value) >> Hva.PageShift);
        gfnEnd = BaseGfn + ((hvaEnd - UserspaceAddress.Value + Hva.PageMask) >> Hva.PageShift);
        return true;
    }
}
