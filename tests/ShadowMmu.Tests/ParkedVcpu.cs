using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// A vCPU thread that enters guest mode and parks there (as a guest spinning on a register would), then does one
/// access when released. Lets tests hold a vCPU in guest mode while a TLB shootdown waits for it.
/// </summary>
internal sealed class ParkedVcpu : IDisposable
{
    private readonly ManualResetEventSlim _go = new(false);
    private readonly Thread _thread;

    public ParkedVcpu(Vcpu vcpu, Gfn gfn)
    {
        _thread = new Thread(() =>
        {
            vcpu.EnterGuest();
            InGuest.Set();
            _go.Wait(TimeSpan.FromSeconds(30));
            Result = vcpu.Access(gfn, write: false, 0);
            vcpu.ExitGuest();
        })
        { Name = $"vcpu-{vcpu.Index}-parked", IsBackground = true };
        _thread.Start();
    }

    public ManualResetEventSlim InGuest { get; } = new(false);

    public AccessResult Result { get; private set; }

    public void Release() => _go.Set();

    public bool Join() => _thread.Join(TimeSpan.FromSeconds(20));

    public void Dispose()
    {
        _go.Set();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
