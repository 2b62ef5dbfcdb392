using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Running;

/// <summary>Where one memslot of a guest lives in its VMM's address space, and how to map it again.</summary>
public sealed record SlotLayout(int Id, MemslotSpec Spec, Hva Hva, FileObject? File)
{
    public long FirstPage => Spec.Base / ScenarioUnits.PageSize;

    public long EndPage => Spec.End / ScenarioUnits.PageSize;

    /// <summary>For an aliasing slot, the first guest page of the slot whose memory it maps; null otherwise.</summary>
    public long? AliasOfFirstPage { get; init; }

    public bool IsPrivate => Spec.Backing is VmaKind.AnonymousPrivate or VmaKind.FilePrivate;

    public Hva HvaOfPage(long page) => Hva.AddPages((ulong)(page - FirstPage));
}
