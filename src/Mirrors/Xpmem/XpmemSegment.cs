using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Xpmem;

/// <summary>
/// An XPMEM-like export (<c>xpmem_make</c>) of [<see cref="Start"/>, +pages) of the exporter's address space, with
/// the notifier registered on that address space (<c>xpmem_mmu_notifier_init</c>). Importers attach
/// (<see cref="Attach"/>) and fault pages in; every invalidation of the exporter purges the attachments that map the
/// range (remote ones by message, waiting for each acknowledgement) before the primary may free the pages.
/// </summary>
public sealed class XpmemSegment : IMmuNotifier
{
    // Guards _attachments (copy-on-write: callbacks iterate a snapshot).
    private readonly ProtocolLock _lock = new("xpmem segment lock");
    private XpmemAttachment[] _attachments = [];
    private long _sleptWhileNonBlockable;

    public XpmemSegment(AddressSpace exporter, Hva start, ulong pages, string name, MirrorMutations mutations = MirrorMutations.None)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        Exporter = exporter;
        Start = start;
        Pages = pages;
        Name = name;
        Mutations = mutations;
        Statistics = new ClientStatistics(name, ClientKind.XpmemExport);
        exporter.RegisterNotifier(this);
    }

    public AddressSpace Exporter { get; }

    public Hva Start { get; }

    public ulong Pages { get; }

    public string Name { get; }

    public MirrorMutations Mutations { get; }

    public ClientStatistics Statistics { get; }

    /// <summary>Purges that waited although the range was not blockable (the OOM reaper): a known wart of the driver.</summary>
    public long SleptWhileNonBlockable => Interlocked.Read(ref _sleptWhileNonBlockable);

    /// <summary>
    /// <c>xpmem_attach</c>: a local importer (<paramref name="remote"/> null) pins what it maps, as the modern driver
    /// does; a remote importer holds no pin and relies on the purge acknowledgements before the exporter frees.
    /// </summary>
    public XpmemAttachment Attach(string importer, RemotePartition? remote = null)
    {
        var att = new XpmemAttachment(this, importer, remote);
        using (_lock.EnterScope())
        {
            _attachments = [.. _attachments, att];
        }

        return att;
    }

    /// <summary>Exit: every attachment drops everything; later faults fail.</summary>
    public void Release(AddressSpace mm)
    {
        foreach (var att in Volatile.Read(ref _attachments))
        {
            att.Purge(Start, Start.AddPages(Pages), release: true);
        }
    }

    /// <summary>
    /// Purges every attachment that maps part of the range and waits for the acknowledgements (sleeps). Never
    /// refuses (it has an end, so it may not): under a non-blockable range it still waits, as the real driver takes
    /// its mutexes there; <see cref="SleptWhileNonBlockable"/> counts those waits.
    /// </summary>
    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        var t0 = Stopwatch.GetTimestamp();
        var dropped = 0;
        if (!range.Overlaps(Start, Start.AddPages(Pages)))
        {
            return true;
        }

        foreach (var att in Volatile.Read(ref _attachments))
        {
            if (!range.Blockable)
            {
                Interlocked.Increment(ref _sleptWhileNonBlockable);
            }

            dropped += att.BeginInvalidate(range.Start, range.End);
        }

        Statistics.Invalidated(t0, dropped);
        return true;
    }

    /// <summary>Lets faults of the range install again (only ranges whose start opened something: the same overlap test).</summary>
    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
        if (!range.Overlaps(Start, Start.AddPages(Pages)))
        {
            return;
        }

        foreach (var att in Volatile.Read(ref _attachments))
        {
            att.EndInvalidate(range.Start, range.End);
        }
    }

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
        var t0 = Stopwatch.GetTimestamp();
        var end = new Hva(hva.Value & ~Hva.PageMask) + Hva.PageSize;
        if (end <= Start || hva >= Start.AddPages(Pages))
        {
            return;
        }

        var dropped = 0;
        foreach (var att in Volatile.Read(ref _attachments))
        {
            dropped += att.BeginInvalidate(hva, end);
            att.EndInvalidate(hva, end);
        }

        Statistics.Invalidated(t0, dropped);
    }

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;

    /// <summary>The checker's rule for this kind, over every attachment: see <see cref="XpmemAttachment.CheckCoherence"/>.</summary>
    public int CheckCoherence() => Volatile.Read(ref _attachments).Sum(a => a.CheckCoherence());

    public override string ToString() => $"xpmem segment '{Name}' of {Exporter.Name}";
}
