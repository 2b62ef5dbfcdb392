using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>One callback seen by a <see cref="ProbeNotifier"/>, with the watched page's state at that moment.</summary>
/// <param name="Seq">Order among every call of the probe.</param>
/// <param name="Mm">Name of the address space the callback was for.</param>
/// <param name="Kind">Which callback.</param>
/// <param name="Start">Range start (or the page, for single-page callbacks).</param>
/// <param name="End">Range end (exclusive).</param>
/// <param name="Event">The range's event, for range callbacks.</param>
/// <param name="Cause">The host operation behind an invalidation.</param>
/// <param name="Blockable">The range's blockable flag.</param>
/// <param name="Refused">The probe refused this (non-blockable) start.</param>
/// <param name="WatchedPte">The watched address's PTE when the callback ran (0 without a watch).</param>
/// <param name="WatchedFrameFree">The watched frame was on the free list when the callback ran.</param>
public readonly record struct ProbeCall(
    int Seq,
    string Mm,
    ProbeKind Kind,
    Hva Start,
    Hva End,
    NotifierEvent? Event,
    InvalidationCause? Cause,
    bool Blockable,
    bool Refused,
    ulong WatchedPte,
    bool WatchedFrameFree)
{
    public bool Covers(Hva hva) => hva >= Start && hva < End;

    public override string ToString() =>
        $"#{Seq} {Mm} {Kind} [{Start}, {End}) {Event} {Cause}{(Blockable ? "" : " nonblock")}{(Refused ? " REFUSED" : "")} pte=0x{WatchedPte:x} free={WatchedFrameFree}";
}
