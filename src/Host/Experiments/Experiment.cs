namespace Hypervisor.Host.Experiments;

/// <summary>
/// One experiment of <c>hypervisor experiment</c>: the claims it tests, what it measures, the run that records the
/// measurements, and the conclusion drawn from them (tables, charts, and the result in one sentence, computed from
/// the numbers, never written in advance).
/// </summary>
internal abstract class Experiment
{
    /// <summary>The name on the command line (<c>hypervisor experiment NAME</c>).</summary>
    public abstract string Name { get; }

    public abstract string Title { get; }

    public abstract IReadOnlyList<Claim> Claims { get; }

    /// <summary>What is measured and how, for the report (Markdown).</summary>
    public abstract string Method { get; }

    /// <summary>Seeds used when <c>--seeds</c> is not given.</summary>
    public virtual int DefaultSeeds => 5;

    /// <summary>Why the experiment cannot run on this build, or null when it can.</summary>
    public virtual string? Unavailable => null;

    /// <summary>Runs every variant for every seed of <paramref name="context"/>, recording measurements.</summary>
    public abstract void Run(ExperimentContext context);

    /// <summary>Summarizes the recorded measurements.</summary>
    public abstract ExperimentOutcome Conclude(ExperimentContext context);
}
