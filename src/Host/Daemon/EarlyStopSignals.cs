using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// SIGTERM, SIGINT and SIGQUIT from the moment the daemon starts composing itself until the host's console lifetime
/// takes over. Without this, a stop that lands while the settings or scenario files are still loading would kill the
/// process on the spot (exit 143) with the log's buffered events unwritten. A stop seen here is kept and handed to the
/// host once it exists, which then starts and at once stops gracefully: the log ends with a summary as always.
/// <c>Main</c> creates it first thing for <c>serve</c> and <c>run</c>, so the window in which a signal still kills the
/// process is the runtime's own start-up only, before any managed code of ours ran and so before anything was written.
/// </summary>
internal sealed class EarlyStopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;
    private readonly CancellationTokenSource _stopping = new();
    private IHostApplicationLifetime? _lifetime;
    private int _requested;

    public EarlyStopSignals()
    {
        _registrations = [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
    }

    /// <summary>Cancelled once a stop signal arrived (<c>run</c> links it to its runs' cancellation).</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>True once a stop signal arrived.</summary>
    public bool Requested => Volatile.Read(ref _requested) != 0;

    /// <summary>From now on a stop goes to <paramref name="lifetime"/>; one that already came is passed on now.</summary>
    public void HandOver(IHostApplicationLifetime lifetime)
    {
        Volatile.Write(ref _lifetime, lifetime);
        if (Requested)
        {
            lifetime.StopApplication();
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>Stops the daemon as a signal would (a failing log disk): now if it runs, else as soon as it starts.</summary>
    public void RequestStop()
    {
        Volatile.Write(ref _requested, 1);
        Volatile.Read(ref _lifetime)?.StopApplication();
        _stopping.Cancel();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Not the default action (terminate): the daemon stops on its own terms.
        context.Cancel = true;
        RequestStop();
    }
}
