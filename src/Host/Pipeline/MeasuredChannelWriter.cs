using System.Diagnostics;
using System.Threading.Channels;
using Hypervisor.GuestModel.Events;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// The runners' side of the event channel: passes everything through and adds up how long producers waited on a
/// full channel (<see cref="EventSink"/> tries <see cref="TryWrite"/> first and only then waits in <see cref="WriteAsync"/>),
/// which is the price the simulation pays for losing nothing.
/// </summary>
internal sealed class MeasuredChannelWriter(ChannelWriter<SimulationEvent> inner) : ChannelWriter<SimulationEvent>
{
    private long _blockedTicks;

    /// <summary>Total time producers spent waiting for room, all producers summed.</summary>
    public TimeSpan Blocked => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _blockedTicks));

    /// <inheritdoc/>
    public override bool TryWrite(SimulationEvent item) => inner.TryWrite(item);

    /// <inheritdoc/>
    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
        inner.WaitToWriteAsync(cancellationToken);

    /// <inheritdoc/>
    public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);

    /// <summary>Writes, waiting for room when the channel is full, and adds the wait to <see cref="Blocked"/>.</summary>
    public override async ValueTask WriteAsync(SimulationEvent item, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await inner.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _blockedTicks, Stopwatch.GetTimestamp() - start);
        }
    }
}
