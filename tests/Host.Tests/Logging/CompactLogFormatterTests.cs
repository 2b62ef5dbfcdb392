using System.Text.Json;
using Hypervisor.Host.Analyze.Input;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;
using Serilog.Events;
using LogEvent = Serilog.Events.LogEvent;
using LineEvent = Hypervisor.Host.Analyze.Input.LogEvent;
using Serilog.Parsing;

namespace Hypervisor.Host.Tests.Logging;

/// <summary>The file's line format: compact JSON, catalogue events by id only, everything else as CLEF has it.</summary>
[TestFixture]
public class CompactLogFormatterTests
{
    private static string Format(LogEvent e)
    {
        using var writer = new StringWriter();
        new CompactLogFormatter().Format(e, writer);
        return writer.ToString();
    }

    private static LogEvent Invalidation()
    {
        using var sink = new CapturingSink();
        var translator = new EventTranslator(sink.Logger, new LiveTotals(), invalidations: new InvalidationLogWriter(sink.Serilog));
        translator.Handle(SampleEvents.Started("quickstart"));
        translator.Handle(SampleEvents.Invalidation("quickstart", sptes: 512, page: 0x7f00_0000_0));
        return sink.WithId(3).Single();
    }

    [Test]
    public void An_invalidation_is_one_short_line_with_its_id_and_properties_only()
    {
        var line = Format(Invalidation());
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        var names = root.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(line, Does.EndWith("}\n").And.Not.Contain("\n{"), "one line");
            Assert.That(line.Length, Is.LessThanOrEqualTo(300), "at most 300 bytes per invalidation");
            Assert.That(root.GetProperty("@i").GetInt32(), Is.EqualTo(LogEventIds.Invalidation), "the catalogue id as CLEF's event type");
            Assert.That(root.GetProperty("@l").GetString(), Is.EqualTo("Debug"), "the level (Information would be left out)");
            Assert.That(root.GetProperty("@t").GetDateTimeOffset().Offset, Is.EqualTo(TimeSpan.Zero), "a UTC timestamp");
            Assert.That(names, Has.None.AnyOf("@mt", "@m", "EventId", "SourceContext"), "the id stands for template, name and source");
            Assert.That(names.Where(n => n[0] != '@'), Is.EqualTo(LogContract.Events[3].Properties), "the contract's properties, in order");
            Assert.That(root.GetProperty("SptesZapped").GetInt32(), Is.EqualTo(512), "numbers as JSON numbers");
            Assert.That(root.GetProperty("TlbFlushed").ValueKind, Is.EqualTo(JsonValueKind.True), "flags as JSON booleans");
        });
    }

    [Test]
    public void Analyze_reads_the_compact_line_as_the_invalidation_it_is()
    {
        using var json = JsonDocument.Parse(Format(Invalidation()));
        var problem = LineEvent.TryRead(json.RootElement, out var e);
        Assert.Multiple(() =>
        {
            Assert.That(problem, Is.Null, "one of our events");
            Assert.That(e.Kind, Is.EqualTo(LogEventKind.Invalidation), "identified by @i");
            Assert.That(e.Timestamp, Is.Not.Null, "the time from @t");
            Assert.That(e.Int64("Pages"u8), Is.EqualTo(4), "properties at the top level");
            Assert.That(e.Address("StartHva"u8), Is.EqualTo(0x7f00_0000_0UL << 12), "the start address");
        });
    }

    [Test]
    public void A_framework_event_keeps_its_template_event_id_and_source_and_is_never_read_as_ours()
    {
        // The generic host's own events reuse small ids: id 3 here is not an invalidation.
        var template = new MessageTemplateParser().Parse("Hosting {What} stopped");
        var e = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Warning, new InvalidOperationException("boom"), template,
        [
            new LogEventProperty("What", new ScalarValue("host")),
            new LogEventProperty("SourceContext", new ScalarValue("Microsoft.Hosting.Lifetime")),
            new LogEventProperty("EventId", new StructureValue([new LogEventProperty("Id", new ScalarValue(3)), new LogEventProperty("Name", new ScalarValue("Stopped"))])),
            new LogEventProperty("@odd", new ScalarValue(1)),
        ]);
        using var json = JsonDocument.Parse(Format(e));
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.TryGetProperty("@i", out _), Is.False, "no catalogue id");
            Assert.That(root.GetProperty("@mt").GetString(), Is.EqualTo("Hosting {What} stopped"), "its template");
            Assert.That(root.GetProperty("@l").GetString(), Is.EqualTo("Warning"), "its level");
            Assert.That(root.GetProperty("@x").GetString(), Does.Contain("boom"), "its exception");
            Assert.That(root.GetProperty("SourceContext").GetString(), Is.EqualTo("Microsoft.Hosting.Lifetime"), "its source");
            Assert.That(root.GetProperty("EventId").GetProperty("Id").GetInt32(), Is.EqualTo(3), "its own event id");
            Assert.That(root.GetProperty("@@odd").GetInt32(), Is.EqualTo(1), "a leading @ is doubled, as CLEF escapes it");
            Assert.That(LineEvent.TryRead(root, out _), Is.EqualTo(ProblemKind.UnknownEvent), "analyze does not count it as an invalidation");
        });
    }
}
