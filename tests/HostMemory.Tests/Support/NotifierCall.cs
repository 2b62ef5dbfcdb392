using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>
/// One entry of the shared <see cref="EventLog"/>: a callback as the notifier saw it, with the host state the
/// notifier was asked to watch, read from inside the callback.
/// </summary>
/// <param name="Sequence">Position in the log (strictly increasing across every notifier sharing the log).</param>
/// <param name="Notifier">Name of the recording notifier, or of the marker's author.</param>
/// <param name="Kind">Which callback (or a marker).</param>
/// <param name="Start">Range start; the page for <c>InvalidatePage</c> and <c>TestYoung</c>; default otherwise.</param>
/// <param name="End">Range end (exclusive); default when there is no range.</param>
/// <param name="Event">The range's event, when the callback carries a range.</param>
/// <param name="Cause">The host operation behind a range or page invalidation.</param>
/// <param name="Blockable">The range's blockable flag (true when there is no range).</param>
/// <param name="ThreadId">Managed id of the thread that ran the callback.</param>
/// <param name="Ptes">The PTE of every watched address at callback time.</param>
/// <param name="Frames">The state of every watched frame at callback time.</param>
/// <param name="Text">A marker's text; empty for callbacks.</param>
public sealed record NotifierCall(
    long Sequence,
    string Notifier,
    CallbackKind Kind,
    Hva Start,
    Hva End,
    NotifierEvent? Event,
    InvalidationCause? Cause,
    bool Blockable,
    int ThreadId,
    IReadOnlyDictionary<Hva, ulong> Ptes,
    IReadOnlyDictionary<Pfn, FrameSnapshot> Frames,
    string Text)
{
    public bool IsRangeCallback => Kind is CallbackKind.InvalidateRangeStart or CallbackKind.InvalidateRangeEnd;

    /// <summary>The watched PTE of <paramref name="hva"/> at callback time (throws if it was not watched).</summary>
    public ulong PteAt(Hva hva) => Ptes[hva];

    public bool PresentAt(Hva hva) => Pte.IsPresent(Ptes[hva]);

    public bool WritableAt(Hva hva) => Pte.IsPresent(Ptes[hva]) && Pte.IsWritable(Ptes[hva]);

    public Pfn PfnAt(Hva hva) => Pte.PfnOf(Ptes[hva]);

    public FrameSnapshot Frame(Pfn pfn) => Frames[pfn];

    public override string ToString() => Kind == CallbackKind.Marker
        ? $"#{Sequence} {Notifier}: {Text}"
        : $"#{Sequence} {Notifier}.{Kind} [{Start}, {End}) {Event} {Cause} blockable={Blockable} thread={ThreadId}";
}
