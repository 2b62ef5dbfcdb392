using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// One memory slot of a guest: a range of guest-physical memory backed by one host mapping
/// (KVM's <c>kvm_memory_slot</c>). Slots never overlap and lie inside the guest memory; they need not cover all of it
/// (a gap is a hole, like an MMIO range).
/// </summary>
public sealed record MemslotSpec
{
    /// <summary>Guest-physical start address in bytes, page-aligned.</summary>
    public required long Base { get; init; }

    /// <summary>Length in bytes, a positive multiple of the page size.</summary>
    public required long Size { get; init; }

    /// <summary>Whether the guest may only read the slot (<c>KVM_MEM_READONLY</c>).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>What backs the slot in the VMM's address space (the guest's backing unless overridden).</summary>
    public VmaKind Backing { get; init; } = VmaKind.AnonymousPrivate;

    /// <summary>
    /// The base of another memslot of the guest whose host memory this one maps too (two gfn ranges onto one hva
    /// range, as two <c>KVM_SET_USER_MEMORY_REGION</c> calls with one <c>userspace_addr</c> make); null for a slot with
    /// a mapping of its own. An alias starts at the aliased slot's first page and takes its backing.
    /// </summary>
    public long? AliasOf { get; init; }

    /// <summary>The first byte after the slot.</summary>
    public long End => Base + Size;
}
