using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory.Reclaim;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>One host-wide memory-management pass, run on the host's <see cref="HostMemoryManager"/>.</summary>
public sealed class HostPassExecutor(string kind, Func<HostMemoryManager, int, Random, object> pass) : IActivityExecutor
{
    public string Kind => kind;

    /// <summary>The host-wide passes, by their scenario-file names: aging, reclaim, writeback, migrate, ksm, khugepaged.</summary>
    public static IEnumerable<HostPassExecutor> All() =>
    [
        new("aging", (m, _, _) => m.AgeAll()),
        new("reclaim", (m, pages, _) => m.ReclaimPass(pages)),
        new("writeback", (m, _, _) => m.WritebackPass()),
        new("migrate", (m, pages, random) => m.MigrateRandomPages(pages, random)),
        new("ksm", (m, _, _) => m.KsmPass()),
        new("khugepaged", (m, regions, _) => m.CollapsePass(regions)),
    ];

    public string Fire(ActivityContext context, ActivitySpec spec) =>
        pass(context.Memory, ((HostPassParameters)spec.Parameters).Pages, context.Random).ToString() ?? kind;
}
