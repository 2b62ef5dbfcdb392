using System.Threading.Channels;

namespace Hypervisor.GuestModel.Events;

/// <summary>
/// Hands events to a bounded channel whose full mode is wait: when the consumer lags, the producer blocks instead
/// of dropping (back-pressure on the simulation, never a lost event).
/// </summary>
public sealed class EventSink(ChannelWriter<SimulationEvent> writer)
{
    private long _published;

    public long Published => Interlocked.Read(ref _published);

    /// <summary>Creates the bounded channel the runner expects (single reader, full mode wait).</summary>
    public static Channel<SimulationEvent> CreateChannel(int capacity = 65_536) =>
        Channel.CreateBounded<SimulationEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });

    public void Publish(SimulationEvent e)
    {
        Interlocked.Increment(ref _published);
        if (writer.TryWrite(e))
        {
            return;
        }

        // Named wait: the channel is full; wait for the consumer rather than drop.
        writer.WriteAsync(e).AsTask().GetAwaiter().GetResult();
    }
}
