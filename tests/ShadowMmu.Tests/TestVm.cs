using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// A host, a VMM address space with one guest-RAM VMA, and a VM with one memslot over it. The vCPUs' pfn caches are
/// off unless asked for: a cache refresh waits for every open invalidation, which would stall the tests that hold
/// one open on purpose.
/// </summary>
internal sealed class TestVm : IDisposable
{
    public const ulong GuestPages = 1024;

    public TestVm(
        ShadowMutations mutations = ShadowMutations.None,
        NotifierProfile profile = NotifierProfile.Modern,
        VmaKind backing = VmaKind.AnonymousPrivate,
        int vcpus = 1,
        bool readOnlySlot = false,
        Action<Gfn>? afterGup = null,
        Action<AddressSpace>? beforeVm = null,
        HostMutations hostMutations = HostMutations.None,
        ulong guestPages = GuestPages,
        bool pfnCaches = false,
        bool preCheck = true,
        MmuMode mmu = MmuMode.Tdp)
    {
        Host = new HostSystem(new HostOptions { RamBytes = Math.Max(64L << 20, (long)guestPages * 2 * 4096), SwapBytes = 16L << 20, Mutations = hostMutations });
        Mm = Host.CreateAddressSpace("vmm", profile);
        var file = backing is VmaKind.FilePrivate or VmaKind.FileShared ? Host.CreateFile("disk", (long)guestPages) : null;
        Base = Mm.Mmap(guestPages * Hva.PageSize, backing, Protection.ReadWrite, file);
        beforeVm?.Invoke(Mm);
        Vm = new VirtualMachine("guest", Mm, [new Memslot(0, 0, guestPages, Base, readOnlySlot)],
            new VmOptions
            {
                Vcpus = vcpus, Mutations = mutations, AfterGetUserPages = afterGup, PfnCaches = pfnCaches, LocklessPreCheck = preCheck,
                Mmu = mmu,
            });
    }

    public HostSystem Host { get; }

    public AddressSpace Mm { get; }

    public Hva Base { get; }

    public VirtualMachine Vm { get; }

    public Hva HvaOf(ulong gfn) => Base.AddPages(gfn);

    public Pfn HostPfn(ulong gfn) => HostMemory.PageTables.Pte.PfnOf(Mm.PteOf(HvaOf(gfn)));

    public bool HostMaps(ulong gfn) => HostMemory.PageTables.Pte.IsPresent(Mm.PteOf(HvaOf(gfn)));

    public void Dispose() => Vm.Dispose();
}
