namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>The properties of one synthetic <c>Invalidation</c> event (id 3); defaults make a one-page munmap.</summary>
internal sealed record Invalidation
{
    public string Scenario { get; init; } = "quickstart";

    public string RunId { get; init; } = "run-1";

    public string Guest { get; init; } = "vm0";

    public string Profile { get; init; } = "modern";

    public string Event { get; init; } = "munmap";

    public string NotifierEvent { get; init; } = "unmap";

    public ulong StartHva { get; init; } = 0x7f00_0000_0000;

    public long Pages { get; init; } = 1;

    public long SptesZapped { get; init; } = 1;

    public bool TlbFlushed { get; init; } = true;

    public double DurationMicros { get; init; } = 10;

    public bool SinglePage { get; init; }

    /// <summary>Seconds since the run started; defaults to the event's time.</summary>
    public double? ElapsedSeconds { get; init; }
}
