namespace Hypervisor.HostMemory.Scheduling;

public sealed partial class ControlledScheduler
{
    /// <summary>
    /// The threads that can run now, in creation order. If none can, virtual time moves to the earliest timed
    /// waiter; if there is none, spinners are let go once more (at most <see cref="IdleRoundsBeforeStall"/> times in a
    /// row), and after that the run has stalled: control is abandoned and the list stays empty.
    /// </summary>
    internal List<ControlledThread> Enabled()
    {
        for (var idle = 0; ; idle++)
        {
            Collect();
            if (_enabled.Count != 0)
            {
                return _enabled;
            }

            var wake = long.MaxValue;
            var spinners = false;
            foreach (var t in _threads)
            {
                if (t.State == ControlledThreadState.Waiting)
                {
                    wake = Math.Min(wake, t.WakeAt);
                    spinners |= t.Ready is null;
                }
            }

            if (wake != long.MaxValue)
            {
                Time.AdvanceTo(wake);
                continue;
            }

            if (!spinners || idle >= IdleRoundsBeforeStall)
            {
                Abandon("stalled: no thread can run (" + string.Join(", ", _threads.Where(t => !t.IsFinished)
                    .Select(t => t.Name)) + ")");
                return _enabled;
            }

            // Every thread spins, none sleeps: let the spinners look again, a millisecond later (a spin may wait for time).
            Time.AdvanceTo(Time.Ticks + IdleTick);
            foreach (var t in _threads)
            {
                if (t.State == ControlledThreadState.Waiting && t.Ready is null)
                {
                    t.WaitStep = -1;
                }
            }
        }
    }

    private void Collect()
    {
        _enabled.Clear();
        var now = Time.Ticks;
        foreach (var t in _threads)
        {
            var runs = t.State switch
            {
                ControlledThreadState.Runnable => true,
                ControlledThreadState.Waiting => now >= t.WakeAt || (t.Ready is { } ready ? ready() : _progress > t.WaitStep),
                _ => false,
            };
            if (runs)
            {
                _enabled.Add(t);
            }
        }
    }

    /// <summary>The strategy's pick, recorded as a decision when it differs from the default; null if control was abandoned.</summary>
    private ControlledThread? Choose(ControlledThread self, bool forced)
    {
        if (forced && (Enabled().Count == 0 || _abandoned))
        {
            return null;
        }

        var next = _strategy.Choose(this, self, forced);
        if (_abandoned)
        {
            return null;
        }

        if (!ReferenceEquals(next, DefaultChoiceFor(self, forced)))
        {
            _decisions.Add(new ScheduleDecision(_steps, next.Id));
        }

        return next;
    }

    /// <summary>The running thread, when it may go on; otherwise the lowest-numbered thread that can run.</summary>
    private ControlledThread DefaultChoiceFor(ControlledThread self, bool forced) =>
        forced ? Enabled()[0] : self;

    /// <summary>Gives up control: every parked thread is released and from now on runs free.</summary>
    internal void Abandon(string reason)
    {
        if (_abandoned)
        {
            return;
        }

        _abandonReason = reason;
        _abandoned = true;
        foreach (var t in _threads)
        {
            t.Turn.Release(int.MaxValue / 2);
        }
    }

    private void CheckWatchdog()
    {
        var steps = Volatile.Read(ref _steps);
        if (_abandoned || _current is null || _threads.All(t => t.IsFinished))
        {
            return;
        }

        if (steps == _lastWatchedStep)
        {
            Abandon($"no scheduling point for {Options.Watchdog.TotalSeconds:0} s: thread '{_current.Name}' blocked outside the scheduler");
        }

        _lastWatchedStep = steps;
    }
}
