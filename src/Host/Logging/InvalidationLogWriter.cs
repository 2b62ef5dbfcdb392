using System.Diagnostics;
using Hypervisor.GuestModel.Events;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;
using Serilog.Events;
using Serilog.Parsing;

namespace Hypervisor.Host.Logging;

/// <summary>
/// Writes the <c>Invalidation</c> event (id 3) straight into Serilog: the same template, properties, level, event id and
/// source context as <see cref="HypervisorLog.Invalidation"/>, without the Microsoft.Extensions.Logging bridge.
/// </summary>
/// <remarks>
/// Invalidations are nearly every line of the log, and the bridge boxes each of their twelve values and converts
/// each double, bool and unsigned one through Serilog's general property capture; here the constant values (flags,
/// event names, the run id and guest name) are made once and reused, which halves the consumer's cost per event
/// (<c>LogPipelineBenchmarks</c>). Consumer thread only: the caches are not shared.
/// </remarks>
internal sealed class InvalidationLogWriter(Serilog.ILogger logger)
{
    /// <summary>The logger name (source context) of the pipeline's events.</summary>
    public const string SourceContext = "Hypervisor.Pipeline";

    private const int CacheLimit = 4096;

    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse(HypervisorLog.InvalidationTemplate);
    private static readonly ScalarValue SourceContextValue = new(SourceContext);
    private static readonly StructureValue EventIdValue = new(
    [
        new LogEventProperty("Id", new ScalarValue(LogEventIds.Invalidation)),
        new LogEventProperty("Name", new ScalarValue(nameof(LogEventIds.Invalidation))),
    ]);

    private static readonly ScalarValue True = new(true);
    private static readonly ScalarValue False = new(false);
    // Of the bridge's types (int counts, ulong pages), so that both paths make equal events.
    private static readonly ScalarValue[] SmallCounts = [.. Enumerable.Range(0, 1024).Select(i => new ScalarValue(i))];
    private static readonly ScalarValue[] SmallPageCounts = [.. Enumerable.Range(0, 1024).Select(i => new ScalarValue((ulong)i))];

    private readonly Dictionary<InvalidationCause, ScalarValue> _causes = [];
    private readonly Dictionary<NotifierEvent, ScalarValue> _events = [];
    private readonly Dictionary<string, ScalarValue> _strings = new(StringComparer.Ordinal);
    private int _thread;

    /// <summary>Whether a sink takes the event (Debug); checked before any work.</summary>
    public bool IsEnabled => logger.IsEnabled(LogEventLevel.Debug);

    /// <summary>Writes one invalidation of run <paramref name="runId"/>; consumer thread only.</summary>
    public void Write(string runId, InvalidationEvent e)
    {
        if (_thread == 0)
        {
            _thread = Environment.CurrentManagedThreadId;
        }

        Debug.Assert(_thread == Environment.CurrentManagedThreadId, "InvalidationLogWriter is used by one thread, the pipeline's consumer: its caches are not synchronized");
        var r = e.Record;
        var properties = new Dictionary<string, LogEventPropertyValue>(14, StringComparer.Ordinal)
        {
            ["RunId"] = Text(runId),
            ["Guest"] = Text(r.Guest),
            ["Event"] = Cause(r.Cause),
            ["NotifierEvent"] = Event(r.Event),
            ["StartHva"] = new ScalarValue(LogNames.Hex(r.Start.Value)),
            ["Pages"] = r.Pages < (ulong)SmallPageCounts.Length ? SmallPageCounts[r.Pages] : new ScalarValue(r.Pages),
            ["SptesZapped"] = Count(r.SptesZapped),
            ["VcpusFlushed"] = Count(r.VcpusFlushed),
            ["TlbFlushed"] = r.TlbFlushed ? True : False,
            ["DurationMicros"] = new ScalarValue(r.Duration.TotalMicroseconds),
            ["SinglePage"] = r.SinglePage ? True : False,
            ["ElapsedSeconds"] = new ScalarValue(HypervisorLog.Seconds(e.Elapsed)),
            ["SourceContext"] = SourceContextValue,
            ["EventId"] = EventIdValue,
        };

        // The assembling constructor takes the dictionary as it is (the public one would copy it again).
        logger.Write(LogEvent.UnstableAssembleFromParts(DateTimeOffset.Now, LogEventLevel.Debug, null, Template, properties, default, default));
    }

    private static ScalarValue Count(int value) => (uint)value < (uint)SmallCounts.Length ? SmallCounts[value] : new ScalarValue(value);

    private ScalarValue Text(string value)
    {
        if (!_strings.TryGetValue(value, out var cached))
        {
            if (_strings.Count >= CacheLimit)
            {
                // Run ids are fresh for every run: a daemon that runs for months must not keep them all.
                _strings.Clear();
            }

            cached = new ScalarValue(value);
            _strings[value] = cached;
        }

        return cached;
    }

    private ScalarValue Cause(InvalidationCause cause)
    {
        if (!_causes.TryGetValue(cause, out var cached))
        {
            cached = new ScalarValue(LogNames.Of(cause));
            _causes[cause] = cached;
        }

        return cached;
    }

    private ScalarValue Event(NotifierEvent notifierEvent)
    {
        if (!_events.TryGetValue(notifierEvent, out var cached))
        {
            cached = new ScalarValue(LogNames.Of(notifierEvent));
            _events[notifierEvent] = cached;
        }

        return cached;
    }
}
