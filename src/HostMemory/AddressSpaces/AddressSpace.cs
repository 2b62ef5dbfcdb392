using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// A process address space (<c>struct mm_struct</c>): VMAs, a radix page table, the mmap lock, a users count and
/// the MMU notifier chain. The operations that change mappings live in the partial files by concern
/// (faults, get_user_pages and host accesses, unmap, protection and fork, exit).
/// </summary>
/// <remarks>
/// Lock order: mmap lock, then (notifier callbacks, which take the secondary MMU's locks), then a page-table
/// lock, then the frame allocator. Notifiers are never called with a page-table lock held.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The mmap lock lives exactly as long as the address space.")]
public sealed partial class AddressSpace
{
    private const ulong MmapBase = 0x1000_0000_0000UL;
    private const ulong MmapAlign = 1UL << 30;

    /// <summary>
    /// The mmap lock (<c>mmap_lock</c>): read for faults, get_user_pages, host accesses and madvise; write for
    /// changes to the VMA list (mmap, munmap, mprotect, fork, exit) and for notifier registration. It also keeps
    /// page-table pages alive for walkers: tables are freed only under the write lock.
    /// </summary>
    private readonly ProtocolRwLock _mmapLock = new("mmap_lock");

    // Sorted by Start, non-overlapping. Guarded by _mmapLock.
    private readonly List<Vma> _vmas = [];
    private ulong _nextMmapBase = MmapBase;
    private int _users = 1;
    private volatile bool _dead;

    internal AddressSpace(HostSystem host, string name, NotifierProfile profile)
    {
        Host = host;
        Name = name;
        Profile = profile;
        Notifiers = new NotifierChain(this);
        PageTable = new PageTable(host);
    }

    public HostSystem Host { get; }

    public string Name { get; }

    public NotifierProfile Profile { get; }

    public NotifierChain Notifiers { get; }

    public PageTable PageTable { get; }

    private PhysicalMemory Memory => Host.Memory;

    /// <summary><c>mm_users</c>: references that keep the address space's mappings alive.</summary>
    public int Users => Volatile.Read(ref _users);

    /// <summary>True once exit has torn the mappings down.</summary>
    public bool IsDead => _dead;

    /// <summary>A snapshot of the VMAs, in address order.</summary>
    public IReadOnlyList<Vma> Vmas
    {
        get
        {
            using var _ = ReadLock();
            return [.. _vmas];
        }
    }

    /// <summary>Maps a new VMA at an address of the address space's choosing (<c>mmap(NULL, ...)</c>).</summary>
    public Hva Mmap(ulong length, VmaKind kind, Protection protection, FileObject? file = null, long filePageOffset = 0)
    {
        using var _ = WriteLock();
        var start = new Hva(_nextMmapBase);
        _nextMmapBase += (length + MmapAlign - 1) / MmapAlign * MmapAlign + MmapAlign;
        var status = InsertVma(start, length, kind, protection, file, filePageOffset);
        return status == HostStatus.Ok ? start : throw new ArgumentException($"cannot map {length} bytes: {status}");
    }

    /// <summary><c>mmap(MAP_FIXED_NOREPLACE)</c>: maps at <paramref name="start"/>, failing if anything is there.</summary>
    public HostStatus MmapFixed(Hva start, ulong length, VmaKind kind, Protection protection, FileObject? file = null, long filePageOffset = 0)
    {
        using var _ = WriteLock();
        return InsertVma(start, length, kind, protection, file, filePageOffset);
    }

    /// <summary>The VMA containing <paramref name="hva"/>, or null. Caller holds the mmap lock.</summary>
    public Vma? FindVma(Hva hva)
    {
        int lo = 0, hi = _vmas.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var vma = _vmas[mid];
            if (hva < vma.Start)
            {
                hi = mid - 1;
            }
            else if (hva >= vma.End)
            {
                lo = mid + 1;
            }
            else
            {
                return vma;
            }
        }

        return null;
    }

    /// <summary><c>mmget</c>: one more user keeps the mappings alive.</summary>
    public bool TryAddUser()
    {
        while (true)
        {
            var users = Volatile.Read(ref _users);
            if (users == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _users, users + 1, users) == users)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// <c>mmu_notifier_register</c>: subscribes <paramref name="notifier"/>. Takes the mmap lock for write, under which
    /// faults, munmap, mprotect and fork run their start/end sections, and <c>mm_take_all_locks</c> (every rmap lock of
    /// the mm, for write), under which reclaim, writeback and migration run theirs: the new notifier sees whole
    /// sections only. The address space must still have users: the registration holds one (<c>mmget_not_zero</c> ...
    /// <c>mmput</c>), so the last exit either runs before it (and it fails) or after the notifier is on the list (and
    /// its <c>Release</c> runs, perhaps from this very <c>mmput</c>).
    /// </summary>
    public void RegisterNotifier(IMmuNotifier notifier)
    {
        var pin = (Host.Mutations & HostMutations.RegisterWithoutPin) == 0;
        if (pin && !TryAddUser())
        {
            throw new InvalidOperationException($"cannot register a notifier on '{Name}': it has no users left");
        }

        try
        {
            using var _ = WriteLock();
            // The broken variant checks only that the mappings are not gone yet: an exit whose release already ran
            // is still tearing them down.
            if (_dead)
            {
                throw new InvalidOperationException($"cannot register a notifier on '{Name}': it has exited");
            }

            using (TakeAllRmapLocks())
            {
                Notifiers.Add(notifier);
            }

            if (Users <= 0)
            {
                // Only without the pin: the last exit began (its release may be over) and will free the pages with
                // no callback to this notifier.
                Host.Violations.Report(ViolationKind.NotifierProtocol, new AccessSite(Name, -1, 0), -1,
                    "a notifier was registered after the last user exited: it will never be released");
            }
        }
        finally
        {
            if (pin)
            {
                Exit(); // mmput: the last one runs the exit, releasing this notifier with the others
            }
        }
    }

    /// <summary>
    /// <c>mmu_notifier_unregister</c>: calls <see cref="IMmuNotifier.Release"/> if it has not run yet, removes the
    /// notifier, and waits until none of its callbacks is running. After it returns no callback of it runs.
    /// </summary>
    public bool UnregisterNotifier(IMmuNotifier notifier) =>
        Notifiers.Remove(notifier, waitForCallbacks: (Host.Mutations & HostMutations.UnregisterWithoutWait) == 0);

    internal MmapLockScope ReadLock() => new(_mmapLock, write: false);

    internal MmapLockScope WriteLock() => new(_mmapLock, write: true);

    /// <summary>Takes the mmap lock for read on behalf of a caller outside this assembly (page walkers).</summary>
    public MmapLockScope EnterRead() => ReadLock();

    /// <summary>Tries the mmap lock for read without waiting (reclaim and aging scanners skip busy spaces).</summary>
    public bool TryEnterRead(out MmapLockScope scope)
    {
        if (_mmapLock.TryEnterReadLock(0))
        {
            scope = new MmapLockScope(_mmapLock, write: false, alreadyHeld: true);
            return true;
        }

        scope = default;
        return false;
    }

    private HostStatus InsertVma(Hva start, ulong length, VmaKind kind, Protection protection, FileObject? file, long filePageOffset)
    {
        if (_dead)
        {
            return HostStatus.Dead;
        }

        if (!start.IsPageAligned || length == 0 || (length & Hva.PageMask) != 0)
        {
            return HostStatus.Invalid;
        }

        var needsFile = kind is VmaKind.FilePrivate or VmaKind.FileShared;
        if (needsFile && file is null)
        {
            return HostStatus.Invalid;
        }

        var end = start + length;
        if (_vmas.Any(v => v.Start < end && start < v.End))
        {
            return HostStatus.Invalid;
        }

        if (kind == VmaKind.AnonymousShared && file is null)
        {
            file = Host.CreateFile($"{Name}-shmem-{start}", (long)(length >> Hva.PageShift), shmem: true);
        }

        // vm_pgoff: the file offset for file and shared memory, the virtual page number for private anonymous memory.
        var anonymous = kind == VmaKind.AnonymousPrivate;
        var vma = new Vma(this, start, end, kind, protection, anonymous ? null : file, filePageOffset,
            anonymous ? start.PageNumber : (ulong)filePageOffset);
        var index = _vmas.FindIndex(v => v.Start > start);
        _vmas.Insert(index < 0 ? _vmas.Count : index, vma);
        LinkFileVma(vma);
        return HostStatus.Ok;
    }

    public override string ToString() => $"mm '{Name}' ({Profile})";
}
