using System.Collections.Concurrent;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace Hypervisor.Host.Tests.Support;

/// <summary>A Serilog logger that keeps every event in memory, behind a real <see cref="SerilogLoggerFactory"/>.</summary>
internal sealed class CapturingSink : IDisposable
{
    private readonly Store _store = new();
    private readonly Logger _logger;
    private readonly SerilogLoggerFactory _factory;

    public CapturingSink()
    {
        _logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_store).CreateLogger();
        _factory = new SerilogLoggerFactory(_logger);
    }

    public Microsoft.Extensions.Logging.ILogger Logger => _factory.CreateLogger("Hypervisor.Pipeline");

    /// <summary>The Serilog logger behind <see cref="Logger"/>.</summary>
    public Serilog.ILogger Serilog => _logger;

    public IReadOnlyList<LogEvent> Events => [.. _store.Events];

    public static int? IdOf(LogEvent e) =>
        e.Properties.TryGetValue("EventId", out var value) && value is StructureValue s
            ? (int?)((ScalarValue)s.Properties.Single(p => p.Name == "Id").Value).Value
            : null;

    public static string? StringOf(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: string text } ? text : null;

    public IEnumerable<LogEvent> WithId(int id) => Events.Where(e => IdOf(e) == id);

    public void Dispose()
    {
        _factory.Dispose();
        _logger.Dispose();
    }

    /// <summary>The sink proper; not disposable, so the logger's dispose does not come back here.</summary>
    private sealed class Store : ILogEventSink
    {
        public ConcurrentQueue<LogEvent> Events { get; } = new();

        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }
}
