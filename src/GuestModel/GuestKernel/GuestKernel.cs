using Hypervisor.GuestModel.Running;
using Hypervisor.ShadowMmu.Vms;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.GuestKernel;

/// <summary>
/// The guest-kernel model of a shadow-mode guest: the pool of guest frames it keeps for page tables (the top of its
/// largest writable memslot), the data frames the rest of memory provides, and the PCIDs of its processes. Each vCPU
/// runs its own processes through a <see cref="GuestCpu"/>; the pool is shared under a lock.
/// </summary>
/// <remarks>
/// Guest virtual page <c>DataBase + p</c> of every process is where the workload's page <c>p</c> lives. Its natural
/// frame (<see cref="TargetOf"/>) is <c>p</c>, moved out of the table pool by a multiple of the vCPU count, so that
/// the owner of a virtual page (<c>p mod vcpus</c>) owns its frame too: a process maps a frame writable only if its
/// vCPU owns it, which is what the oracle's one-writer-per-frame rule needs, and maps other vCPUs' frames read-only.
/// </remarks>
public sealed class GuestKernel
{
    /// <summary>First guest virtual page of the data area (an address above 256 MiB, as user mappings are).</summary>
    public const ulong DataBase = 0x10000;

    private readonly ProtocolLock _poolLock = new("guest page pool lock");
    private readonly Stack<ulong> _freeFrames = new();
    private readonly long _poolShift;
    private int _nextPcid;

    public GuestKernel(VirtualMachine vm, IReadOnlyList<SlotLayout> slots, long pages, int vcpus, double churn)
    {
        Vm = vm;
        Pages = pages;
        Vcpus = vcpus;
        Churn = churn;
        var home = slots.Where(s => !s.Spec.ReadOnly).MaxBy(s => s.EndPage - s.FirstPage)
            ?? throw new ArgumentException("a shadow-mode guest needs a writable memslot for its page tables", nameof(slots));
        var size = home.EndPage - home.FirstPage;
        var poolPages = Math.Clamp(pages / 16, Math.Min(64, size / 2), size / 2);
        PoolStart = home.EndPage - poolPages;
        PoolEnd = home.EndPage;
        for (var gfn = PoolEnd - 1; gfn >= PoolStart; gfn--)
        {
            _freeFrames.Push((ulong)gfn);
        }

        _poolShift = (poolPages + vcpus - 1) / vcpus * vcpus;
    }

    public VirtualMachine Vm { get; }

    public long Pages { get; }

    public int Vcpus { get; }

    /// <summary>Share of accesses before which the vCPU's guest kernel changes a page table (<c>pageTableChurn</c>).</summary>
    public double Churn { get; }

    /// <summary>First frame of the page-table pool.</summary>
    public long PoolStart { get; }

    /// <summary>End of the page-table pool (exclusive).</summary>
    public long PoolEnd { get; }

    /// <summary>Frames of the pool not holding a table now.</summary>
    public int FreeFrames
    {
        get
        {
            using (_poolLock.EnterScope())
            {
                return _freeFrames.Count;
            }
        }
    }

    /// <summary>The frame guest page <paramref name="page"/> maps by default: itself, or, inside the pool, a frame below it with the same owner.</summary>
    public ulong TargetOf(long page)
    {
        var target = page;
        while (target >= PoolStart && target < PoolEnd)
        {
            target -= _poolShift;
        }

        return (ulong)(target < 0 ? page % Vcpus : target);
    }

    /// <summary>True if <paramref name="gfn"/> holds page tables (never data).</summary>
    public bool IsTableFrame(ulong gfn) => (long)gfn >= PoolStart && (long)gfn < PoolEnd;

    /// <summary>A free table frame, or null when the pool is empty (the caller frees some and tries again).</summary>
    public ulong? AllocFrame()
    {
        using (_poolLock.EnterScope())
        {
            return _freeFrames.Count > 0 ? _freeFrames.Pop() : null;
        }
    }

    public void FreeFrame(ulong gfn)
    {
        using (_poolLock.EnterScope())
        {
            _freeFrames.Push(gfn);
        }
    }

    /// <summary>A PCID for a new process (1 to 4095, reused after wrapping: a CR3 load without NOFLUSH flushes it).</summary>
    public int NextPcid() => (Interlocked.Increment(ref _nextPcid) % ShadowMmu.Vcpus.Vcpu.MaxPcid) + 1;
}
