using Hypervisor.Host.Experiments.Studies;

namespace Hypervisor.Host.Experiments;

/// <summary>Every experiment of <c>hypervisor experiment</c>, in the order of the report and docs/experiments.md.</summary>
internal static class ExperimentCatalog
{
    public static IReadOnlyList<Experiment> All { get; } =
    [
        new InvalidatePageVsRange(),
        new DisarmedCost(),
        new SeqAtomicity(),
        new SleepableNotifiers(),
        new RegisterCost(),
        new WalkerTracking(),
    ];

    public static Experiment? Find(string name) => All.FirstOrDefault(e => e.Name == name);
}
