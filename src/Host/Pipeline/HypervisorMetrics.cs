using System.Diagnostics.Metrics;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// The <c>Hypervisor</c> meter: observable counters over <see cref="LiveTotals"/>, so
/// <c>dotnet-counters monitor --counters Hypervisor</c> can watch a live daemon. Nothing here runs on a hot path:
/// the instruments are read when a listener collects.
/// </summary>
internal sealed class HypervisorMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Hypervisor";

    /// <summary>The instrument names, for listeners and documentation.</summary>
    public static readonly IReadOnlyList<string> InstrumentNames = ["accesses", "faults", "retries", "invalidations", "tlb-flushes", "violations"];

    private readonly Meter _meter = new(MeterName);

    public HypervisorMetrics(LiveTotals totals)
    {
        _meter.CreateObservableCounter("accesses", () => totals.Accesses, "{access}", "Guest memory accesses of every run");
        _meter.CreateObservableCounter("faults", () => totals.Faults, "{fault}", "Shadow page faults taken");
        _meter.CreateObservableCounter("retries", () => totals.Retries, "{retry}", "Faults retried because an invalidation ran or was running");
        _meter.CreateObservableCounter("invalidations", () => totals.Invalidations, "{invalidation}", "Invalidations handled by the shadow MMUs");
        _meter.CreateObservableCounter("tlb-flushes", () => totals.TlbFlushes, "{flush}", "vCPU TLB shootdowns");
        _meter.CreateObservableCounter("violations", () => totals.Violations, "{violation}", "Coherence violations reported");
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
