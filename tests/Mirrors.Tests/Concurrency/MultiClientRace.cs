using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.Mirrors.Common;
using Hypervisor.Mirrors.Gru;
using Hypervisor.Mirrors.Hmm;
using Hypervisor.Mirrors.Tests.Support;
using Hypervisor.Mirrors.Xpmem;

namespace Hypervisor.Mirrors.Tests.Concurrency;

/// <summary>
/// Several secondary MMUs of every kind on one address space, each on its own thread (two HMM mirrors, a GRU TLB, a
/// local and a remote XPMEM importer), against a host thread that madvises, mprotects, unmaps and remaps and writes
/// the range, and a checker thread that applies every client's consistency rule. Runs until the time is up or the
/// first violation.
/// </summary>
public sealed class MultiClientRace : IDisposable
{
    public const ulong Pages = 32;

    private readonly List<Thread> _threads = [];
    private readonly List<Exception> _failures = [];
    private readonly RemotePartition _remote;
    private readonly CancellationTokenSource _stop = new();
    private long _hostOps;
    private long _clientOps;
    private long _checks;

    public MultiClientRace(MirrorMutations mutations, int seed, TimeSpan remoteLatency)
    {
        (Host, Mm) = Hosts.WithSpace();
        Region = Mm.MapAnon(Pages);
        Mm.Fill(Region, Pages, i => i + 1);
        Seed = seed;
        Hmm0 = new DeviceMirror(Mm, "dmirror0", mutations);
        Hmm1 = new DeviceMirror(Mm, "dmirror1", mutations);
        Gru = new GruDeviceTlb(Mm, "gru0", mutations);
        Segment = new XpmemSegment(Mm, Region, Pages, "seg", mutations);
        Local = Segment.Attach("local");
        _remote = new RemotePartition("node1", remoteLatency);
        Remote = Segment.Attach("remote", _remote);
    }

    public HostSystem Host { get; }

    public AddressSpace Mm { get; }

    public Hva Region { get; }

    public int Seed { get; }

    public DeviceMirror Hmm0 { get; }

    public DeviceMirror Hmm1 { get; }

    public GruDeviceTlb Gru { get; }

    public XpmemSegment Segment { get; }

    public XpmemAttachment Local { get; }

    public XpmemAttachment Remote { get; }

    public long HostOps => Interlocked.Read(ref _hostOps);

    public long ClientOps => Interlocked.Read(ref _clientOps);

    public long Checks => Interlocked.Read(ref _checks);

    /// <summary>Every client's statistics, for reports broken down by client and kind.</summary>
    public IReadOnlyList<ClientStatistics> Statistics => [Hmm0.Statistics, Hmm1.Statistics, Gru.Statistics, Segment.Statistics];

    /// <summary>Runs for at most <paramref name="duration"/>, stopping early at the first violation; returns the time taken.</summary>
    public TimeSpan Run(TimeSpan duration)
    {
        var t0 = Stopwatch.GetTimestamp();
        Start("host", HostLoop);
        Start("hmm0", r => Hmm0.Read(Region.AddPages((ulong)r.Next(0, 16)), 16, new ulong[16]));
        Start("hmm1", r => Hmm1.Write(Region.AddPages((ulong)r.Next(0, (int)Pages)), 1, [(ulong)r.Next()]));
        Start("gru", r => Gru.Access(Region.AddPages((ulong)r.Next(0, (int)Pages)), r.Next(2) == 0, (ulong)r.Next(), out _));
        Start("xpmem-local", r => Local.Read((ulong)r.Next(0, (int)Pages), out _));
        Start("xpmem-remote", r => Remote.Read((ulong)r.Next(0, (int)Pages), out _));
        Start("checker", _ =>
        {
            Hmm0.CheckCoherence();
            Hmm1.CheckCoherence();
            Gru.CheckCoherence();
            Segment.CheckCoherence();
            Interlocked.Increment(ref _checks);
        });

        var deadline = t0 + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && Host.Violations.Total == 0 && _failures.Count == 0)
        {
            Thread.Sleep(5);
        }

        _stop.Cancel();
        foreach (var t in _threads)
        {
            t.Join();
        }

        lock (_failures)
        {
            if (_failures.Count > 0)
            {
                throw new AggregateException(_failures);
            }
        }

        return Stopwatch.GetElapsedTime(t0);
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var t in _threads)
        {
            t.Join();
        }

        _remote.Dispose();
        _stop.Dispose();
    }

    private void HostLoop(Random r)
    {
        var first = (ulong)r.Next(0, (int)Pages);
        var count = (ulong)r.Next(1, (int)(Pages - first) + 1);
        var at = Region.AddPages(first);
        switch (r.Next(5))
        {
            case 0:
                Mm.MadviseDontNeed(at, count * Hva.PageSize);
                break;
            case 1:
                Mm.Mprotect(at, count * Hva.PageSize, Protection.Read);
                Mm.Mprotect(at, count * Hva.PageSize, Protection.ReadWrite);
                break;
            case 2:
                Mm.Munmap(at, count * Hva.PageSize);
                Mm.MmapFixed(at, count * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
                break;
            default:
                Mm.HostWrite(at, (ulong)r.Next());
                break;
        }

        Interlocked.Increment(ref _hostOps);
    }

    private void Start(string name, Action<Random> step)
    {
        var random = new Random(HashCode.Combine(Seed, name));
        var thread = new Thread(() =>
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    step(random);
                    if (name != "host")
                    {
                        Interlocked.Increment(ref _clientOps);
                        Thread.Yield(); // a device issues work in bursts, not in a loop that never lets go of its lock
                    }
                }
            }
#pragma warning disable CA1031 // Collected and rethrown by Run.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                lock (_failures)
                {
                    _failures.Add(ex);
                }
            }
        })
        { Name = name, IsBackground = true };
        _threads.Add(thread);
        thread.Start();
    }
}
