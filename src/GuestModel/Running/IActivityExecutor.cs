using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// Carries out one firing of an activity kind. Executors are looked up by kind name in
/// <see cref="ActivityExecutors"/>, so a new kind needs a parser (<see cref="IActivityKind"/>) and an executor,
/// and no change to the loader or the runner.
/// </summary>
public interface IActivityExecutor
{
    /// <summary>The kind name, as in scenario files.</summary>
    string Kind { get; }

    /// <summary>Runs one firing on the activity's own thread; returns a short outcome for the log.</summary>
    string Fire(ActivityContext context, ActivitySpec spec);
}
