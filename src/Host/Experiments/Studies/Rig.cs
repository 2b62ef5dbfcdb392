using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.ShadowMmu;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>What subscribes to the rig's address space.</summary>
internal enum Subscriber
{
    /// <summary>No notifier: the hooks are disarmed (<c>mm_has_notifiers</c> is false).</summary>
    None,

    /// <summary>One notifier whose callbacks return at once: the chain's own cost.</summary>
    NoOp,

    /// <summary>The KVM-like secondary MMU, one VM with one vCPU mapping the region.</summary>
    Kvm,
}

/// <summary>
/// A host with swap, a VMM address space with one region of <see cref="Pages"/> pages (anonymous or a shared file
/// mapping), a reclaim/writeback manager, and the chosen subscriber. The guest's vCPU is driven on the calling
/// thread (<see cref="GuestTouchAll"/>), outside guest mode while the host works.
/// </summary>
internal sealed class Rig : IDisposable
{
    /// <param name="pages">Size of the region.</param>
    /// <param name="profile">The notifier API profile.</param>
    /// <param name="subscriber">Who subscribes.</param>
    /// <param name="fileBacked">A shared file mapping instead of private anonymous memory.</param>
    /// <param name="vmOptions">Options of the KVM client's VM.</param>
    /// <param name="beforeSubscriber">Runs on the address space and region before the subscriber registers (so it is called after it).</param>
    public Rig(int pages, NotifierProfile profile, Subscriber subscriber, bool fileBacked = false, VmOptions? vmOptions = null,
        Action<AddressSpace, Hva>? beforeSubscriber = null)
    {
        Pages = (ulong)pages;
        Host = new HostSystem(new HostOptions { RamBytes = Math.Max(64L << 20, pages * 3L * (long)Hva.PageSize), SwapBytes = pages * 2L * (long)Hva.PageSize });
        Manager = new HostMemoryManager(Host);
        Mm = Host.CreateAddressSpace("vmm", profile);
        var file = fileBacked ? Host.CreateFile("disk", pages) : null;
        Base = Mm.Mmap(Pages * Hva.PageSize, fileBacked ? VmaKind.FileShared : VmaKind.AnonymousPrivate, Protection.ReadWrite, file);
        beforeSubscriber?.Invoke(Mm, Base);
        switch (subscriber)
        {
            case Subscriber.NoOp:
                Counter = new CountingNotifier(count: false);
                Mm.RegisterNotifier(Counter);
                break;
            case Subscriber.Kvm:
                Vm = new VirtualMachine("guest", Mm, [new Memslot(0, 0, Pages, Base)], (vmOptions ?? new VmOptions()) with { Vcpus = 1, PfnCaches = false });
                break;
        }
    }

    public ulong Pages { get; }

    public HostSystem Host { get; }

    public HostMemoryManager Manager { get; }

    public AddressSpace Mm { get; }

    public Hva Base { get; }

    public VirtualMachine? Vm { get; }

    public CountingNotifier? Counter { get; }

    public Hva At(ulong page) => Base.AddPages(page);

    /// <summary>The host CPU writes every page (demand faults on first touch; dirties file pages).</summary>
    public void HostWriteAll(ulong value = 1)
    {
        for (ulong p = 0; p < Pages; p++)
        {
            Check(Mm.HostWrite(At(p), value + p), "host write");
        }
    }

    /// <summary>The guest reads (or writes) every page through its vCPU, so the shadow MMU maps each one.</summary>
    public void GuestTouchAll(bool write = false)
    {
        if (Vm is null)
        {
            return;
        }

        var vcpu = Vm.Vcpus[0];
        vcpu.EnterGuest();
        try
        {
            for (ulong g = 0; g < Pages; g++)
            {
                var result = vcpu.Access(new Gfn(g), write, g);
                if (!result.IsOk)
                {
                    throw new InvalidOperationException($"guest access to gfn {g} failed: {result.Status}");
                }
            }
        }
        finally
        {
            vcpu.ExitGuest();
        }
    }

    /// <summary>Reclaim passes until <paramref name="target"/> pages were swapped out or unmapped (young pages get their second chance first).</summary>
    public long ReclaimPages(long target)
    {
        long done = 0;
        for (var pass = 0; pass < 16 && done < target; pass++)
        {
            var result = Manager.ReclaimPass((int)Math.Min(int.MaxValue, target - done));
            done += result.SwappedOut + result.FileUnmapped;
        }

        return done;
    }

    public void Dispose()
    {
        Vm?.Dispose();
        Manager.Dispose();
    }

    private static void Check(HostStatus status, string what)
    {
        if (status != HostStatus.Ok)
        {
            throw new InvalidOperationException($"{what} failed: {status}");
        }
    }
}
