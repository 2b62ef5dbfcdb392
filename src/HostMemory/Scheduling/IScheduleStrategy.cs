namespace Hypervisor.HostMemory.Scheduling;

/// <summary>Picks the thread that runs after a scheduling point. Called only by the thread holding the turn.</summary>
internal interface IScheduleStrategy
{
    /// <summary>A thread was created (in creation order: deterministic).</summary>
    void ThreadCreated(ControlledScheduler scheduler, ControlledThread thread);

    /// <summary>
    /// The next thread: <paramref name="self"/> itself or one of <see cref="ControlledScheduler.Enabled"/>. When
    /// <paramref name="forced"/>, <paramref name="self"/> waits and the pick must come from the enabled list.
    /// </summary>
    ControlledThread Choose(ControlledScheduler scheduler, ControlledThread self, bool forced);
}

/// <summary>Builds the strategy an options record names.</summary>
internal static class ScheduleStrategies
{
    public static IScheduleStrategy Create(ScheduleOptions options) => options.Strategy switch
    {
        ScheduleStrategyKind.Pct => new PctStrategy(options),
        ScheduleStrategyKind.Guided => new GuidedStrategy(options.Decisions),
        _ => new RandomWalkStrategy(options),
    };
}

/// <summary>SplitMix64: a tiny, fast, seedable generator whose sequence is the same on every platform.</summary>
internal struct ScheduleRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound).</summary>
    public int Below(int bound) => (int)(Next() % (ulong)bound);

    /// <summary>Uniform in [0, bound).</summary>
    public long Below(long bound) => (long)(Next() % (ulong)bound);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => (Next() >> 11) * (1.0 / (1UL << 53)) < p;
}

internal sealed class RandomWalkStrategy(ScheduleOptions options) : IScheduleStrategy
{
    private ScheduleRandom _random = new(options.Seed ^ 0x5EED_0F_5C4EDUL);

    public void ThreadCreated(ControlledScheduler scheduler, ControlledThread thread)
    {
    }

    public ControlledThread Choose(ControlledScheduler scheduler, ControlledThread self, bool forced)
    {
        if (!forced && !_random.Chance(options.SwitchProbability))
        {
            return self;
        }

        var enabled = scheduler.Enabled();
        return enabled.Count == 0 ? self : enabled[_random.Below(enabled.Count)];
    }
}

internal sealed class PctStrategy : IScheduleStrategy
{
    private readonly HashSet<long> _changePoints = [];
    private ScheduleRandom _random;
    private long _lowered;

    public PctStrategy(ScheduleOptions options)
    {
        _random = new ScheduleRandom(options.Seed ^ 0x9C7_9C7_9C7UL);
        var k = Math.Max(1, options.ExpectedSteps);
        for (var i = 0; i < Math.Max(0, options.Depth - 1); i++)
        {
            _changePoints.Add(1 + _random.Below(k));
        }
    }

    public void ThreadCreated(ControlledScheduler scheduler, ControlledThread thread) =>
        // Distinct random priorities above every lowered one (lowered priorities are at most zero).
        thread.Priority = 1 + (long)(_random.Next() >> 2);

    public ControlledThread Choose(ControlledScheduler scheduler, ControlledThread self, bool forced)
    {
        if (_changePoints.Remove(scheduler.Steps))
        {
            self.Priority = --_lowered; // below every thread, and below the ones lowered before
        }

        var enabled = scheduler.Enabled();
        var best = enabled.Count == 0 ? self : enabled[0];
        foreach (var t in enabled)
        {
            if (t.Priority > best.Priority)
            {
                best = t;
            }
        }

        return best;
    }
}

internal sealed class GuidedStrategy(IReadOnlyList<ScheduleDecision> decisions) : IScheduleStrategy
{
    private int _next;

    public void ThreadCreated(ControlledScheduler scheduler, ControlledThread thread)
    {
    }

    public ControlledThread Choose(ControlledScheduler scheduler, ControlledThread self, bool forced)
    {
        var step = scheduler.Steps;
        while (_next < decisions.Count && decisions[_next].Step < step)
        {
            _next++; // a decision whose step passed unused (the schedule was edited by shrinking)
        }

        if (_next < decisions.Count && decisions[_next].Step == step)
        {
            var wanted = decisions[_next++].Thread;
            foreach (var t in scheduler.Enabled())
            {
                if (t.Id == wanted)
                {
                    return t;
                }
            }
        }

        return forced ? scheduler.Enabled()[0] : self;
    }
}
