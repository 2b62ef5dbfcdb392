using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// kswapd: a named background thread that keeps free memory between two watermarks. It sleeps until an
/// allocation leaves fewer than <see cref="LowWatermark"/> frames free (<see cref="Wake"/>, hooked into
/// <see cref="PhysicalMemory.LowMemory"/>) or a poll interval passes, then runs reclaim passes until
/// <see cref="HighWatermark"/> frames are free or a pass frees nothing.
/// </summary>
public sealed class ReclaimDaemon : IDisposable
{
    private readonly ReclaimScanner _scanner;
    private readonly PhysicalMemory _memory;
    private readonly int _batch;
    private readonly TimeSpan _pollInterval;
    private readonly ManualResetEventSlim _wake = new(false);

    // Guards _thread and the start/stop transitions.
    private readonly ProtocolLock _lifecycleLock = new("kswapd lifecycle lock");
    private Thread? _thread;
    private volatile bool _stopping;
    private Exception? _fault;
    private long _passes;
    private long _framesFreed;

    public ReclaimDaemon(ReclaimScanner scanner, PhysicalMemory memory, int lowWatermark, int highWatermark, int batch, TimeSpan pollInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(highWatermark, lowWatermark);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        _scanner = scanner;
        _memory = memory;
        LowWatermark = lowWatermark;
        HighWatermark = highWatermark;
        _batch = batch;
        _pollInterval = pollInterval;
    }

    public int LowWatermark { get; }

    public int HighWatermark { get; }

    public bool IsRunning
    {
        get
        {
            using (_lifecycleLock.EnterScope())
            {
                return _thread is not null;
            }
        }
    }

    /// <summary>Reclaim passes kswapd has run.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Frames kswapd has freed.</summary>
    public long FramesFreed => Interlocked.Read(ref _framesFreed);

    /// <summary>Starts the thread (named <c>kswapd</c>); does nothing if it runs already.</summary>
    public void Start()
    {
        using (_lifecycleLock.EnterScope())
        {
            if (_thread is not null)
            {
                return;
            }

            _stopping = false;
            _fault = null;
            _thread = SchedulingPoint.CreateThread("kswapd", Run);
            SchedulingPoint.Start(_thread);
        }
    }

    /// <summary>Stops the thread and waits for its current pass to finish. Rethrows a failure of the thread.</summary>
    public void Stop()
    {
        Thread? thread;
        using (_lifecycleLock.EnterScope())
        {
            thread = _thread;
            _thread = null;
            _stopping = true;
        }

        _wake.Set();
        if (thread is not null)
        {
            SchedulingPoint.Join(thread);
        }
        if (_fault is { } fault)
        {
            _fault = null;
            throw new InvalidOperationException("kswapd failed", fault);
        }
    }

    /// <summary><c>wakeup_kswapd</c>: cheap when already awake; safe from any thread.</summary>
    public void Wake()
    {
        if (!_wake.IsSet)
        {
            _wake.Set();
        }
    }

    public void Dispose()
    {
        Stop();
        _wake.Dispose();
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                _wake.Reset();
                if (_memory.FreeFrames < LowWatermark)
                {
                    Balance();
                }

                // Named wait: kswapd sleeps until an allocation crosses the low watermark, Stop, or the poll interval.
                SchedulingPoint.Wait(_wake, _pollInterval, "kswapd_try_to_sleep");
            }
        }
#pragma warning disable CA1031 // The failure is handed to Stop(), which rethrows it on the owner's thread.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _fault = e;
        }
    }

    /// <summary><c>balance_pgdat</c>: reclaim until the high watermark, or until a pass makes no progress.</summary>
    private void Balance()
    {
        while (!_stopping && _memory.FreeFrames < HighWatermark)
        {
            var result = _scanner.ReclaimPass(_batch);
            Interlocked.Increment(ref _passes);
            Interlocked.Add(ref _framesFreed, result.FramesFreed);
            if (result.FramesFreed == 0)
            {
                return;
            }
        }
    }
}
