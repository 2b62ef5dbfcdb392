using System.Globalization;
using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.Host.Analyze;

/// <summary>
/// A <c>--since</c>/<c>--until</c> value: an ISO-8601 timestamp compared with each line's <c>Timestamp</c>, or a
/// duration (<c>30s</c>, <c>5m</c>, <c>1.5h</c>, <c>500ms</c>) counted from the first event read.
/// </summary>
internal readonly record struct TimeBound
{
    private TimeBound(DateTimeOffset? at, TimeSpan? afterFirstEvent)
    {
        At = at;
        AfterFirstEvent = afterFirstEvent;
    }

    /// <summary>The absolute instant, when the bound was a timestamp.</summary>
    public DateTimeOffset? At { get; }

    /// <summary>The offset from the first event, when the bound was a duration.</summary>
    public TimeSpan? AfterFirstEvent { get; }

    public static TimeBound Absolute(DateTimeOffset at) => new(at, null);

    public static TimeBound Elapsed(TimeSpan afterFirstEvent) => new(null, afterFirstEvent);

    /// <summary>Parses a bound; throws <see cref="LogInputException"/> naming the option and what was expected.</summary>
    public static TimeBound Parse(string text, string option)
    {
        if (ScenarioUnits.TryParseDuration(text, out var duration, out _))
        {
            if (duration < TimeSpan.Zero)
            {
                throw new LogInputException($"{option}: expected a non-negative duration, got '{text}'");
            }

            return Elapsed(duration);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return Absolute(at);
        }

        throw new LogInputException(
            $"{option}: expected an ISO-8601 timestamp (2026-11-21T20:05:00Z) or a duration from the first event (30s, 5m), got '{text}'");
    }

    /// <summary>The instant this bound stands for, given the first event's timestamp.</summary>
    public DateTimeOffset Resolve(DateTimeOffset firstEvent) => At ?? firstEvent + AfterFirstEvent.GetValueOrDefault();

    public override string ToString() =>
        At is { } at ? at.ToString("O", CultureInfo.InvariantCulture)
        : $"{AfterFirstEvent.GetValueOrDefault().TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s after the first event";
}
