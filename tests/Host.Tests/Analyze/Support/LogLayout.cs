namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>The two line layouts <c>hypervisor analyze</c> reads.</summary>
public enum LogLayout
{
    /// <summary>The compact layout the daemon writes now (CLEF with the catalogue id as <c>@i</c>).</summary>
    Compact,

    /// <summary>Serilog's <c>JsonFormatter</c> with the rendered message, as logs written before the compact layout are.</summary>
    JsonFormatter,
}
