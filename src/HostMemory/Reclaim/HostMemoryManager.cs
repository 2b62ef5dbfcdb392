using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Ksm;
using Hypervisor.HostMemory.Migration;
using Hypervisor.HostMemory.Writeback;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// The host's memory-pressure and page-movement machinery in one place: aging, reclaim (kswapd and direct
/// reclaim), writeback, migration, KSM and the OOM reaper. Scenario activities call one pass on demand
/// (<see cref="AgeAll"/>, <see cref="ReclaimPass"/>, <see cref="WritebackPass"/>, <see cref="MigrateRandomPages"/>,
/// <see cref="KsmPass"/>, <see cref="OomReapOnce"/>); each returns what it did. Every pass may run on any thread,
/// concurrently with faults, guests and each other.
/// </summary>
public sealed class HostMemoryManager : IDisposable
{
    private readonly HostSystem _host;
    private readonly Func<bool> _directReclaim;

    // Guards _oomProtected.
    private readonly ProtocolLock _oomProtectedLock = new("oom protected list lock");
    private readonly HashSet<AddressSpace> _oomProtected = [];

    public HostMemoryManager(HostSystem host, ReclaimOptions? options = null)
    {
        _host = host;
        Options = options ?? new ReclaimOptions();
        var low = Options.LowWatermarkFrames > 0 ? Options.LowWatermarkFrames : Math.Max(16, host.Memory.TotalFrames / 64);
        var high = Options.HighWatermarkFrames > 0 ? Options.HighWatermarkFrames : 2 * low;
        Aging = new PageAging(host, Options.Aging);
        Reclaim = new ReclaimScanner(host, Aging, Options.SwapEnabled, Options.DirectReclaimBatch);
        Writeback = new PageWriteback(host);
        Migration = new PageMigrator(host);
        Ksm = new KsmScanner(host, Options.KsmAllSpaces);
        OomReaper = new OomReaper(host);
        Khugepaged = new Khugepaged(host);
        Kswapd = new ReclaimDaemon(Reclaim, host.Memory, low, high, Options.KswapdBatch, Options.KswapdPollInterval);
        _directReclaim = DirectReclaim;
        if (Options.InstallDirectReclaim)
        {
            host.Memory.DirectReclaim = _directReclaim;
        }
    }

    public ReclaimOptions Options { get; }

    public PageAging Aging { get; }

    public ReclaimScanner Reclaim { get; }

    public PageWriteback Writeback { get; }

    public PageMigrator Migration { get; }

    public KsmScanner Ksm { get; }

    public OomReaper OomReaper { get; }

    public ReclaimDaemon Kswapd { get; }

    public Khugepaged Khugepaged { get; }

    /// <summary>Scenario activity <c>khugepaged</c>: collapse up to <paramref name="regions"/> 2 MiB regions into huge pages.</summary>
    public CollapseResult CollapsePass(int regions) => Khugepaged.CollapsePass(regions);

    /// <summary>Scenario activity <c>aging</c>: age every mapped page once.</summary>
    public AgingResult AgeAll() => Aging.AgeAll();

    /// <summary>Scenario activity <c>reclaim</c>: free up to <paramref name="targetPages"/> frames.</summary>
    public ReclaimResult ReclaimPass(int targetPages) => Reclaim.ReclaimPass(targetPages);

    /// <summary>Scenario activity <c>writeback</c>: clean and write every dirty page-cache page.</summary>
    public WritebackResult WritebackPass() => Writeback.WritebackPass();

    /// <summary>Scenario activity <c>migrate</c>: move <paramref name="count"/> randomly chosen mapped pages.</summary>
    public MigrationResult MigrateRandomPages(int count, Random random) => Migration.MigrateRandomPages(count, random);

    /// <summary>Moves the page mapped at <paramref name="hva"/> in <paramref name="mm"/>.</summary>
    public MigrationStatus MigratePage(AddressSpace mm, Hva hva) => Migration.Migrate(mm, hva);

    /// <summary>Scenario activity <c>ksm</c>: one merge pass over the registered (or all) address spaces.</summary>
    public KsmResult KsmPass() => Ksm.KsmPass();

    /// <summary>Scenario activity <c>oom</c>: one OOM-reaper step (retry deferred ranges, or reap a new victim).</summary>
    public OomReapResult OomReapOnce() => OomReaper.ReapOnce(OomProtected());

    /// <summary>Never choose <paramref name="mm"/> as an OOM victim (<c>OOM_SCORE_ADJ_MIN</c>).</summary>
    public void ProtectFromOom(AddressSpace mm)
    {
        using (_oomProtectedLock.EnterScope())
        {
            _oomProtected.Add(mm);
        }
    }

    /// <summary>Starts kswapd and hooks it to allocations that cross the low watermark.</summary>
    public void StartKswapd()
    {
        _host.Memory.LowWatermark = Kswapd.LowWatermark;
        _host.Memory.LowMemory = Kswapd.Wake;
        Kswapd.Start();
    }

    /// <summary>Unhooks and stops kswapd, waiting for its current pass.</summary>
    public void StopKswapd()
    {
        _host.Memory.LowMemory = null;
        Kswapd.Stop();
    }

    /// <summary>Stops kswapd and removes the direct-reclaim hook if it is still this manager's.</summary>
    public void Dispose()
    {
        StopKswapd();
        if (_host.Memory.DirectReclaim == _directReclaim)
        {
            _host.Memory.DirectReclaim = null;
        }

        Kswapd.Dispose();
    }

    /// <summary>Direct reclaim, then (if enabled) one OOM-reaper step, before an allocation gives up.</summary>
    private bool DirectReclaim()
    {
        if (Reclaim.DirectReclaim())
        {
            return true;
        }

        return Options.OomReapWhenReclaimFails
            && (OomReaper.ReapOnce(OomProtected()).FramesFreed > 0 || _host.Memory.FreeFrames > 0);
    }

    private List<AddressSpace> OomProtected()
    {
        using (_oomProtectedLock.EnterScope())
        {
            return [.. _oomProtected];
        }
    }
}
