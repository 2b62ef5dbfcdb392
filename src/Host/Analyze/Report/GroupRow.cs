namespace Hypervisor.Host.Analyze.Report;

/// <summary>Invalidations of one group (an event kind, a notifier event, a guest, a scenario or a profile).</summary>
internal sealed record GroupRow(
    string Key,
    long Invalidations,
    double Share,
    long Pages,
    double PagesPerInvalidation,
    long SptesZapped,
    double NothingZappedShare,
    double SinglePageShare,
    double MeanDurationMicros);
