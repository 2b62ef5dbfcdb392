using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;
using Serilog.Events;

namespace Hypervisor.Host.Tests.Logging;

/// <summary>The direct path for invalidations makes the very event the source-generated method makes.</summary>
[TestFixture]
public class InvalidationLogWriterTests
{
    [Test]
    public void The_direct_writer_and_the_logging_bridge_make_equal_invalidation_events()
    {
        using var bridged = new CapturingSink();
        using var direct = new CapturingSink();
        var viaBridge = new EventTranslator(bridged.Logger, new LiveTotals());
        var viaWriter = new EventTranslator(direct.Logger, new LiveTotals(), invalidations: new InvalidationLogWriter(direct.Serilog));
        foreach (var translator in new[] { viaBridge, viaWriter })
        {
            translator.Handle(SampleEvents.Started("s"));
            translator.Handle(SampleEvents.Invalidation("s", sptes: 3));
            translator.Handle(SampleEvents.Invalidation("s", sptes: 5000, page: 0x7f00_0000));
        }

        var expected = bridged.WithId(3).ToList();
        var actual = direct.WithId(3).ToList();
        Assert.That(actual, Has.Count.EqualTo(2), "both invalidations were written directly");
        for (var i = 0; i < expected.Count; i++)
        {
            // Run ids are fresh per translator; everything else must be the same.
            var runId = CapturingSink.StringOf(actual[i], "RunId");
            Assert.That(runId, Is.EqualTo(CapturingSink.StringOf(direct.WithId(1).Single(), "RunId")), "the run's id");
            Assert.That(actual[i].Level, Is.EqualTo(expected[i].Level), "the same level");
            Assert.That(actual[i].MessageTemplate.Text, Is.EqualTo(expected[i].MessageTemplate.Text), "the same template");
            Assert.That(actual[i].Properties.Keys, Is.EquivalentTo(expected[i].Properties.Keys), "the same properties");
            foreach (var (name, value) in expected[i].Properties.Where(p => p.Key != "RunId"))
            {
                Assert.That(actual[i].Properties[name].ToString(), Is.EqualTo(value.ToString()), $"{name}: the same value");
                if (value is ScalarValue { Value: { } scalar })
                {
                    Assert.That(((ScalarValue)actual[i].Properties[name]).Value!.GetType(), Is.EqualTo(scalar.GetType()), $"{name}: the same type");
                }
            }
        }
    }
}
