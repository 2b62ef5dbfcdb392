using Hypervisor.GuestModel.Running.Activities;

namespace Hypervisor.GuestModel.Running;

/// <summary>Executors by activity kind name. New kinds register here; the runner needs no change.</summary>
public sealed class ActivityExecutors
{
    private readonly Dictionary<string, IActivityExecutor> _byKind = new(StringComparer.Ordinal);

    public static ActivityExecutors CreateDefault()
    {
        var executors = new ActivityExecutors();
        executors.Register(new ForkExecutor());
        executors.Register(new MunmapRemapExecutor());
        executors.Register(new MadviseDontneedExecutor());
        executors.Register(new MunmapExecutor());
        executors.Register(new MprotectExecutor());
        executors.Register(new HostWriteExecutor());
        executors.Register(new NotifierReregisterExecutor());
        executors.Register(new ExitExecutor());
        executors.Register(new OomExecutor());
        executors.Register(new GupFastExecutor());
        foreach (var pass in HostPassExecutor.All())
        {
            executors.Register(pass);
        }

        return executors;
    }

    public IReadOnlyCollection<string> Kinds => _byKind.Keys;

    public void Register(IActivityExecutor executor) => _byKind[executor.Kind] = executor;

    public bool TryGet(string kind, out IActivityExecutor executor) => _byKind.TryGetValue(kind, out executor!);
}
