using System.Diagnostics;
using System.Threading.Channels;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Summary;
using Hypervisor.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// The one event pipeline of a process: a bounded channel (full mode wait: producers block, nothing is dropped) that
/// any number of runners publish into through <see cref="CreateSink"/>, and a single consumer on its own thread that
/// turns events into log events (<see cref="EventTranslator"/>), keeps the running totals and logs
/// <c>PipelineStatistics</c> every interval. Stop with <see cref="Complete"/> once every producer has returned, then
/// wait for <see cref="Completion"/>: the consumer drains what is queued before it ends.
/// </summary>
internal sealed class EventPipeline
{
    private const int DepthSampleEvery = 256;

    private readonly Channel<SimulationEvent> _channel;
    private readonly MeasuredChannelWriter _writer;
    private readonly EventTranslator _translator;
    private readonly LiveTotals _totals;
    private readonly ILogger _logger;
    private readonly TimeSpan _statsInterval;
    private readonly Action<Exception>? _onFailure;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _events;
    private int _maxDepth;
    private Thread? _thread;

    /// <param name="logger">The pipeline's logger (<c>Hypervisor.Pipeline</c>).</param>
    /// <param name="totals">The running totals the consumer keeps.</param>
    /// <param name="statsInterval">Period of the <c>PipelineStatistics</c> event.</param>
    /// <param name="capacity">Events queued before producers wait.</param>
    /// <param name="onSummary">Called on the consumer thread with each run's id and summary.</param>
    /// <param name="onFailure">Called when the consumer fails.</param>
    /// <param name="serilog">The Serilog logger behind <paramref name="logger"/>, if any: invalidations then go straight to it
    /// (<see cref="InvalidationLogWriter"/>), the same events at half the cost.</param>
    public EventPipeline(ILogger logger, LiveTotals totals, TimeSpan statsInterval, int capacity = 65_536,
        Action<string, RunSummary>? onSummary = null, Action<Exception>? onFailure = null, Serilog.ILogger? serilog = null)
    {
        _channel = EventSink.CreateChannel(capacity);
        _writer = new MeasuredChannelWriter(_channel.Writer);
        _translator = new EventTranslator(logger, totals, onSummary, serilog is null ? null : new InvalidationLogWriter(serilog));
        _totals = totals;
        _logger = logger;
        _statsInterval = statsInterval;
        _onFailure = onFailure;
    }

    /// <summary>Completes when the consumer has drained the completed channel (or failed; see <see cref="Failure"/>).</summary>
    public Task Completion => _completion.Task;

    /// <summary>What broke the consumer, or null.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>A sink for one runner's <see cref="GuestModel.Running.RunOptions.Events"/>; many may share the pipeline.</summary>
    public EventSink CreateSink() => new(_writer);

    /// <summary>Starts the consumer thread.</summary>
    public void Start()
    {
        _thread = new Thread(Consume) { Name = "event-consumer", IsBackground = true };
        _thread.Start();
    }

    /// <summary>No more events will come: call after every runner publishing into the pipeline has returned.</summary>
    public void Complete() => _writer.TryComplete();

    /// <summary>The statistics now (readable from any thread).</summary>
    public PipelineSnapshot Snapshot() => new(Interlocked.Read(ref _events), _totals.Invalidations,
        Volatile.Read(ref _maxDepth), _writer.Blocked, Stopwatch.GetElapsedTime(_started));

    private void Consume()
    {
        try
        {
            Drain(_translator.Handle);
            LogStatistics(Snapshot(), null);
            _completion.SetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the consumer. Report it, then keep reading without logging so that no producer stays blocked
            // on a full channel and the runners can still stop.
            Failure = e;
            var error = $"{e.GetType().Name}: {e.Message}";
            _logger.UnhandledError(e, "event consumer", null, null, error);
            _onFailure?.Invoke(e);
            Drain(static _ => { });
            _completion.SetResult();
        }
    }

    /// <summary>Reads until the channel is completed and empty, handing each event to <paramref name="handle"/>.</summary>
    private void Drain(Action<SimulationEvent> handle)
    {
        var reader = _channel.Reader;
        var nextStats = Stopwatch.GetTimestamp() + ToTicks(_statsInterval);
        var previous = Snapshot();
        Task<bool>? waiting = null;
        while (true)
        {
            while (reader.TryRead(out var e))
            {
                handle(e);
                if (Interlocked.Increment(ref _events) % DepthSampleEvery == 0)
                {
                    SampleDepth(reader);
                    if (Stopwatch.GetTimestamp() >= nextStats)
                    {
                        break;
                    }
                }
            }

            if (Stopwatch.GetTimestamp() >= nextStats)
            {
                var now = Snapshot();
                LogStatistics(now, previous);
                previous = now;
                Volatile.Write(ref _maxDepth, reader.Count);
                nextStats = Stopwatch.GetTimestamp() + ToTicks(_statsInterval);
                continue;
            }

            // Named wait: the channel is empty; sleep until an event arrives or the next statistics are due. A wait
            // that times out is kept and waited on again, not abandoned.
            waiting ??= reader.WaitToReadAsync().AsTask();
            var untilStats = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextStats);
            if (!waiting.Wait(untilStats > TimeSpan.Zero ? untilStats : TimeSpan.Zero))
            {
                continue;
            }

            var more = waiting.Result;
            waiting = null;
            if (!more)
            {
                return;
            }
        }
    }

    private void SampleDepth(ChannelReader<SimulationEvent> reader)
    {
        var depth = reader.Count;
        if (depth > Volatile.Read(ref _maxDepth))
        {
            Volatile.Write(ref _maxDepth, depth);
        }
    }

    private void LogStatistics(PipelineSnapshot now, PipelineSnapshot? previous)
    {
        var seconds = (now.Elapsed - (previous?.Elapsed ?? TimeSpan.Zero)).TotalSeconds;
        var rate = seconds <= 0 ? 0 : (now.Events - (previous?.Events ?? 0)) / seconds;
        var perSecond = Math.Round(rate, 1);
        var blockedMicros = Math.Round(now.Blocked.TotalMicroseconds);
        _logger.PipelineStatistics(now.Events, perSecond, now.Invalidations, now.MaxQueueDepth, blockedMicros);
    }

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
