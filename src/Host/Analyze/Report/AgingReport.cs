namespace Hypervisor.Host.Analyze.Report;

/// <summary>Aging (<c>clear_flush_young</c>/<c>test_young</c>) calls and how many found the page young.</summary>
internal sealed record AgingReport(long YoungCalls, long YoungTrue, double YoungShare);
