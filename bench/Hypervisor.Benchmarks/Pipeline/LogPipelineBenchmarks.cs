using BenchmarkDotNet.Attributes;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Running;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting;

namespace Hypervisor.Benchmarks.Pipeline;

/// <summary>
/// The consumer's share of one logged invalidation: the translation into its catalogue event, Serilog's capture of
/// the properties, and the compact JSON line, written to a discarding writer (no disk). The end-to-end figure, disk
/// and channel included, is <c>hypervisor bench</c>'s.
/// </summary>
[MemoryDiagnoser]
public class LogPipelineBenchmarks
{
    private const int EventsPerInvoke = 1024;

    private readonly InvalidationEvent[] _events = new InvalidationEvent[EventsPerInvoke];
    private Logger _serilog = null!;
    private EventTranslator _translator = null!;
    private EventTranslator _bridged = null!;
    private LogEvent _logEvent = null!;
    private readonly CompactLogFormatter _formatter = new();

    [GlobalSetup]
    public void Setup()
    {
        _serilog = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(new FormattingSink(_formatter)).CreateLogger();
        var logger = new SerilogLoggerFactory(_serilog).CreateLogger("Hypervisor.Pipeline");
        _translator = new EventTranslator(logger, new LiveTotals(), invalidations: new InvalidationLogWriter(_serilog));
        _translator.Handle(new ScenarioStartedEvent("bench", TimeSpan.Zero, 1, "modern", null, 1, 1));
        _bridged = new EventTranslator(logger, new LiveTotals());
        _bridged.Handle(new ScenarioStartedEvent("bench", TimeSpan.Zero, 1, "modern", null, 1, 1));
        for (var i = 0; i < EventsPerInvoke; i++)
        {
            var start = new Hva(0x7f00_0000_0000UL + ((ulong)i << 12));
            var record = new InvalidationRecord("guest", InvalidationCause.Munmap, NotifierEvent.Unmap, start, new Hva(start.Value + 4096),
                1, 0, TimeSpan.FromMicroseconds(2.3), SinglePage: false, TlbFlushed: true);
            _events[i] = new InvalidationEvent("bench", TimeSpan.FromSeconds(1.25 + i * 1e-6), "modern", record);
        }

        var capture = new CaptureSink();
        using var captureLogger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(capture).CreateLogger();
        var translator = new EventTranslator(new SerilogLoggerFactory(captureLogger).CreateLogger("Hypervisor.Pipeline"), new LiveTotals());
        translator.Handle(_events[0]);
        _logEvent = capture.Last!;
    }

    [GlobalCleanup]
    public void Cleanup() => _serilog.Dispose();

    /// <summary>Translate, capture and format one invalidation event (per operation), as the pipeline does.</summary>
    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public void TranslateAndFormat()
    {
        foreach (var e in _events)
        {
            _translator.Handle(e);
        }
    }

    /// <summary>The same through the Microsoft.Extensions.Logging bridge (<c>HypervisorLog.Invalidation</c>).</summary>
    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public void TranslateAndFormatThroughBridge()
    {
        foreach (var e in _events)
        {
            _bridged.Handle(e);
        }
    }

    /// <summary>Only the compact JSON line of an already captured invalidation event (per operation).</summary>
    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public void FormatOnly()
    {
        for (var i = 0; i < EventsPerInvoke; i++)
        {
            _formatter.Format(_logEvent, TextWriter.Null);
        }
    }

    private sealed class FormattingSink(ITextFormatter formatter) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => formatter.Format(logEvent, TextWriter.Null);
    }

    private sealed class CaptureSink : ILogEventSink
    {
        public LogEvent? Last { get; private set; }

        public void Emit(LogEvent logEvent) => Last = logEvent;
    }
}
