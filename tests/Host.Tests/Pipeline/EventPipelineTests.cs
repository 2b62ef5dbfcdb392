using Hypervisor.GuestModel.Events;
using Hypervisor.Host.Pipeline;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;
using Serilog.Events;

namespace Hypervisor.Host.Tests.Pipeline;

/// <summary>
/// The pipeline in process: each simulation event becomes its catalogue log event with the contract's properties,
/// run ids follow the scenario's runs, a full channel slows producers down without losing anything, and a broken
/// consumer is reported without leaving producers blocked.
/// </summary>
[TestFixture]
public class EventPipelineTests
{
    private static (EventPipeline Pipeline, CapturingSink Sink, LiveTotals Totals) Start(int capacity = 1024, Action<Exception>? onFailure = null)
    {
        var sink = new CapturingSink();
        var totals = new LiveTotals();
        var pipeline = new EventPipeline(sink.Logger, totals, TimeSpan.FromMinutes(1), capacity, onFailure: onFailure, serilog: sink.Serilog);
        pipeline.Start();
        return (pipeline, sink, totals);
    }

    private static void Finish(EventPipeline pipeline, CancellationToken token)
    {
        pipeline.Complete();
        pipeline.Completion.Wait(token);
    }

    [Test]
    [CancelAfter(10_000)]
    public void Every_kind_of_simulation_event_becomes_its_catalogue_event_with_the_contract_properties(CancellationToken token)
    {
        var (pipeline, sink, _) = Start();
        using var _ = sink;
        var events = pipeline.CreateSink();
        events.Publish(SampleEvents.Started("s"));
        events.Publish(SampleEvents.Invalidation("s"));
        events.Publish(SampleEvents.Burst("s"));
        events.Publish(SampleEvents.Stats("s", 1000, final: true));
        events.Publish(SampleEvents.Violation("s"));
        events.Publish(SampleEvents.Activity("s"));
        events.Publish(SampleEvents.Ended("s"));
        Finish(pipeline, token);

        foreach (var id in new[] { 1, 2, 3, 4, 5, 6, 7, 8, 13 })
        {
            var logged = sink.WithId(id).ToList();
            var (name, properties) = LogContract.Events[id];
            Assert.That(logged, Is.Not.Empty, $"event {id} ({name}) was logged");
            Assert.That(logged[0].Properties.Keys, Is.SupersetOf(properties), $"{name} carries the contract's properties");
        }

        var invalidation = sink.WithId(3).Single();
        Assert.That(CapturingSink.StringOf(invalidation, "Event"), Is.EqualTo("madvise-dont-need"), "the cause in kebab-case");
        Assert.That(CapturingSink.StringOf(invalidation, "NotifierEvent"), Is.EqualTo("clear"), "the notifier event in kebab-case");
        Assert.That(CapturingSink.StringOf(invalidation, "StartHva"), Is.EqualTo("0x1000000"), "addresses as 0x hex strings");
        Assert.That(invalidation.Properties["Pages"], Is.TypeOf<ScalarValue>().With.Property("Value").EqualTo(4UL), "pages from the range");
        Assert.That(sink.WithId(5).Single().Properties["RetriesByReason"], Is.TypeOf<DictionaryValue>(), "RetriesByReason is a dictionary");
        Assert.That(sink.WithId(7).Single().Properties["Summary"], Is.TypeOf<StructureValue>(), "the summary is destructured");
    }

    [Test]
    [CancelAfter(10_000)]
    public void A_run_id_spans_one_run_and_a_restart_names_the_run_that_ended(CancellationToken token)
    {
        var (pipeline, sink, _) = Start();
        using var _ = sink;
        var events = pipeline.CreateSink();
        events.Publish(SampleEvents.Started("a"));
        events.Publish(SampleEvents.Started("b"));
        events.Publish(SampleEvents.Invalidation("a"));
        events.Publish(SampleEvents.Invalidation("b"));
        events.Publish(SampleEvents.Ended("a"));
        events.Publish(new RunRestartingEvent("a", TimeSpan.Zero, "restart: always"));
        events.Publish(SampleEvents.Started("a"));
        events.Publish(SampleEvents.Invalidation("a"));
        Finish(pipeline, token);

        string Run(int id, string scenario, int index) =>
            CapturingSink.StringOf(sink.WithId(id).Where(e => CapturingSink.StringOf(e, "Scenario") == scenario).ElementAt(index), "RunId")!;

        // Invalidations name their run only (the scenario is the run's); they were published a, b, then a again.
        var invalidationRuns = sink.WithId(3).Select(e => CapturingSink.StringOf(e, "RunId")).ToList();
        Assert.That(Run(1, "a", 0), Does.Match("^[0-9a-f]{8}$"), "a run id is 8 hex digits");
        Assert.That(invalidationRuns[0], Is.EqualTo(Run(1, "a", 0)), "an invalidation carries the id of its scenario's run");
        Assert.That(invalidationRuns[1], Is.EqualTo(Run(1, "b", 0)).And.Not.EqualTo(Run(1, "a", 0)), "concurrent scenarios have their own ids");
        Assert.That(Run(2, "a", 0), Is.EqualTo(Run(1, "a", 0)), "the end carries the run's id");
        Assert.That(Run(12, "a", 0), Is.EqualTo(Run(1, "a", 0)), "the restart names the run that ended");
        Assert.That(Run(1, "a", 1), Is.Not.EqualTo(Run(1, "a", 0)), "the next run of the scenario gets a new id");
        Assert.That(invalidationRuns[2], Is.EqualTo(Run(1, "a", 1)), "and its events carry that new id");
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_full_channel_blocks_producers_and_loses_nothing(CancellationToken token)
    {
        const int Producers = 4;
        const int PerProducer = 5_000;
        var (pipeline, sink, totals) = Start(capacity: 16);
        using var _ = sink;
        var threads = Enumerable.Range(0, Producers).Select(p => new Thread(() =>
        {
            var events = pipeline.CreateSink();
            var scenario = $"p{p}";
            events.Publish(SampleEvents.Started(scenario));
            for (var i = 0; i < PerProducer; i++)
            {
                events.Publish(SampleEvents.Invalidation(scenario, sptes: 1, page: (ulong)i));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Finish(pipeline, token);

        var snapshot = pipeline.Snapshot();
        Assert.That(sink.WithId(3).Count(), Is.EqualTo(Producers * PerProducer), "every invalidation was logged");
        Assert.That(totals.Invalidations, Is.EqualTo(Producers * PerProducer), "and counted");
        Assert.That(snapshot.Events, Is.EqualTo(Producers * (PerProducer + 1)), "every event was consumed");
        Assert.That(snapshot.Blocked, Is.GreaterThan(TimeSpan.Zero), "16 slots for 20,000 events: producers had to wait");
        foreach (var p in Enumerable.Range(0, Producers))
        {
            var runId = CapturingSink.StringOf(sink.WithId(1).Single(e => CapturingSink.StringOf(e, "Scenario") == $"p{p}"), "RunId");
            var pages = sink.WithId(3).Where(e => CapturingSink.StringOf(e, "RunId") == runId)
                .Select(e => CapturingSink.StringOf(e, "StartHva")).ToList();
            Assert.That(pages, Is.Unique.And.Count.EqualTo(PerProducer), $"producer {p}'s events are all there, none twice");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public void A_consumer_failure_is_reported_and_producers_are_never_left_blocked(CancellationToken token)
    {
        Exception? reported = null;
        var (pipeline, sink, _) = Start(capacity: 16, onFailure: e => reported = e);
        using var _ = sink;
        var events = pipeline.CreateSink();
        events.Publish(new UnknownEvent("s", TimeSpan.Zero));

        // Far more than the channel holds: this returns only if the failed consumer keeps draining.
        for (var i = 0; i < 1_000; i++)
        {
            events.Publish(SampleEvents.Invalidation("s"));
        }

        Finish(pipeline, token);
        Assert.That(pipeline.Failure, Is.TypeOf<InvalidOperationException>(), "the pipeline knows it failed");
        Assert.That(reported, Is.SameAs(pipeline.Failure), "and told its owner, who makes the process exit non-zero");
        Assert.That(sink.WithId(14).Count(), Is.EqualTo(1), "an UnhandledError event was logged");
    }

    /// <summary>An event the translator has no log event for: stands for a bug in the consumer.</summary>
    private sealed record UnknownEvent(string Scenario, TimeSpan Elapsed) : SimulationEvent(Scenario, Elapsed);
}
