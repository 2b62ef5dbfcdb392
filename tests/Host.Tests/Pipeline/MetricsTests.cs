using System.Diagnostics.Metrics;
using Hypervisor.Host.Pipeline;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Pipeline;

/// <summary>The <c>Hypervisor</c> meter that <c>dotnet-counters</c> watches: its instruments and what they count.</summary>
[TestFixture]
public class MetricsTests
{
    [Test]
    [CancelAfter(10_000)]
    public void A_meter_listener_sees_the_instruments_and_the_totals_the_pipeline_counted(CancellationToken token)
    {
        var totals = new LiveTotals();
        using var metrics = new HypervisorMetrics(totals);
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HypervisorMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();

        using var sink = new CapturingSink();
        var pipeline = new EventPipeline(sink.Logger, totals, TimeSpan.FromMinutes(1));
        pipeline.Start();
        var events = pipeline.CreateSink();
        events.Publish(SampleEvents.Started("s"));
        events.Publish(SampleEvents.Stats("s", 1_000));
        events.Publish(SampleEvents.Invalidation("s"));
        events.Publish(SampleEvents.Invalidation("s"));
        events.Publish(SampleEvents.Stats("s", 5_000, final: true));
        events.Publish(SampleEvents.Ended("s"));
        pipeline.Complete();
        pipeline.Completion.Wait(token);
        listener.RecordObservableInstruments();

        Assert.That(seen.Keys, Is.EquivalentTo(HypervisorMetrics.InstrumentNames), "every instrument is published on the meter");
        Assert.That(seen["accesses"], Is.EqualTo(5_000), "cumulative statistics count once, not once per event");
        Assert.That(seen["faults"], Is.EqualTo(500), "faults follow the latest statistics");
        Assert.That(seen["retries"], Is.EqualTo(50), "retries follow the latest statistics");
        Assert.That(seen["tlb-flushes"], Is.EqualTo(5), "TLB flushes follow the latest statistics");
        Assert.That(seen["invalidations"], Is.EqualTo(2), "one per Invalidation event");
    }

    [Test]
    public void Totals_keep_growing_across_runs_of_a_scenario()
    {
        var totals = new LiveTotals();
        totals.AddStatistics("run1", SampleEvents.Guest(1_000));
        totals.EndRun("run1");
        totals.AddStatistics("run2", SampleEvents.Guest(300));
        totals.AddStatistics("run2", SampleEvents.Guest(400));
        Assert.That(totals.Accesses, Is.EqualTo(1_400), "a new run's counters start from zero and add to the old run's");
    }
}
