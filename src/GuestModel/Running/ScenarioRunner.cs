using System.Collections.Concurrent;
using Hypervisor.GuestModel.Clients;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// Runs a scenario: builds the host and the guests, starts the vCPUs (on a few host CPU threads) and a thread per activity, samples
/// statistics, stops at the duration, the access budget or cancellation, stops every thread, checks the end-of-run
/// invariants and returns the summary. Everything it reports goes through the <see cref="EventSink"/>.
/// With <see cref="RunOptions.Schedule"/> set, the whole run (this method's own thread included) runs under a
/// <see cref="ControlledScheduler"/>: one thread at a time, virtual time, the same steps for the same seed.
/// </summary>
public sealed class ScenarioRunner(ActivityExecutors? executors = null)
{
    private readonly ActivityExecutors _executors = executors ?? ActivityExecutors.CreateDefault();

    public RunSummary Run(Scenario scenario, RunOptions options, CancellationToken cancellation = default)
    {
        if (!MutationCatalog.TryParse(options.Mutation, out var mutation))
        {
            throw new ArgumentException($"unknown mutation '{options.Mutation}'", nameof(options));
        }

        var seed = options.Seed ?? scenario.Seed;
        if (options.ExcludedActivities.Count != 0)
        {
            scenario = scenario with { Activities = [.. scenario.Activities.Where((_, i) => !options.ExcludedActivities.Contains(i))] };
        }

        // A scenario's deterministic: section makes its runs controlled (and sets the scheduler's defaults).
        if (ScheduleSettings.For(scenario, options.Schedule) is not { } settings)
        {
            return RunCore(scenario, options, mutation, seed, TimeProvider.System, null, cancellation);
        }

        options = options with { Schedule = settings };
        using var scheduler = new ControlledScheduler(settings.Scheduler with { Seed = settings.Seed ?? seed });
        var summary = scheduler.RunMain("runner", () => RunCore(scenario, options, mutation, seed, scheduler.Time, scheduler, cancellation));
        settings.Completed?.Invoke(scheduler);
        return summary with
        {
            Schedule = new ScheduleSummary(Names.Kebab(scheduler.Options.Strategy.ToString()), scheduler.Options.Seed,
                scheduler.TraceHash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture), scheduler.Steps,
                scheduler.Switches, scheduler.Decisions.Count, scheduler.ThreadNames.Count, scheduler.StopStep, scheduler.AbandonReason),
        };
    }

    private RunSummary RunCore(Scenario scenario, RunOptions options, MutationCatalog.Mutation mutation, ulong seed, TimeProvider time,
        ControlledScheduler? scheduler, CancellationToken cancellation)
    {
        var profile = mutation.ForcedProfile ?? options.Profile ?? scenario.Host.NotifierProfile;
        var host = new HostSystem(new HostOptions
        {
            RamBytes = scenario.Host.Ram,
            SwapBytes = scenario.Host.Swap,
            Mutations = mutation.Host,
            Cpus = scenario.Host.Cpus,
            TableFree = mutation.ForcedTableFree ?? scenario.Host.TableFree,
            LocklessWalkDelayEvery = scenario.Host.WalkerDelayEvery,
        }, time);
        var sink = options.Events ?? new EventSink(System.Threading.Channels.Channel.CreateUnbounded<SimulationEvent>().Writer);
        var clock = new RunClock(time);
        var profileName = Names.Kebab(profile.ToString());
        WireViolations(host, scenario.Name, clock, sink, options.ViolationEventsPerKind);

        // Direct reclaim and kswapd run in every scenario, as on any real host; the activities add explicit passes.
        using var memory = new HostMemoryManager(host, new ReclaimOptions { KsmAllSpaces = true });
        memory.StartKswapd();
        var guests = new List<GuestInstance>();
        foreach (var declared in scenario.Guests)
        {
            var spec = options.Mmu is { } mmu ? declared with { Mmu = mmu } : declared;
            // The loader checked that addressSpaceOf names an earlier guest with a process of its own.
            var vmm = spec.AddressSpaceOf is { } owner ? guests.First(g => g.Name == owner).Mm : null;
            guests.Add(new GuestInstance(spec, host, profile, mutation.Shadow, scenario.Host.GupFast, vmm)
            {
                CheckEveryOperation = options.CheckAfterOps,
            });
        }

        foreach (var guest in guests)
        {
            guest.Vm.InvalidationObserver = r => sink.Publish(new InvalidationEvent(scenario.Name, clock.Elapsed, profileName, r));
        }

        // The stop is wired before any thread starts, and the threads park at the start gate: neither a stop nor the
        // duration waits for thousands of threads to be created.
        var clients = scenario.Clients.Select(c => new ClientInstance(c, guests.First(g => g.Name == c.Guest), mutation.Mirror, seed)).ToList();
        using var control = new RunControl(scenario.AccessBudget)
        {
            Schedule = options.Schedule, AccessesPerVcpu = scenario.AccessesPerVcpu, Clock = clock,
        };
        using var stopOnCancel = cancellation.Register(control.RequestStop);
        var workers = guests.SelectMany(g => Enumerable.Range(0, g.Spec.Vcpus).Select(i => new VcpuWorker(g, i, seed, control))).ToList();
        control.ExpectVcpus(workers.Count);
        var tallies = scenario.Activities.Select((a, i) => new ActivityTally(i, a)).ToList();
        if (scheduler is not null)
        {
            // Exploration's limits: a schedule ends at its step budget, or at its first violation when asked to.
            void StopRun()
            {
                control.RequestStop();
                workers.ForEach(w => w.RequestStop());
            }

            scheduler.StepLimitReached = StopRun;
            scheduler.Stop = StopRun;
            scheduler.StopWhen = options.Schedule!.StopAtFirstViolation ? () => host.Violations.Total > 0 : null;
        }

        // Free-running, the vCPUs share a few host CPUs, a time slice at a time (VcpuScheduler); the host's threads
        // are not among them. A controlled run gives each vCPU a thread: its scheduler runs one thread at a time.
        IReadOnlyList<Thread> vcpuThreads = scheduler is null
            ? new VcpuScheduler(workers, control, options.VcpuCpus ?? VcpuScheduler.DefaultCpus, VcpuScheduler.DefaultSlice).CreateThreads()
            : [.. workers.Select(w => w.CreateThread())];
        var threads = control.StartAll([.. vcpuThreads,
            .. CreateActivityThreads(scenario, host, memory, guests, control, seed, sink, clock, tallies),
            .. clients.Select(c => c.CreateThread(control))]);

        // Times in the run (activity firings, the duration, event timestamps) count from the gate's opening.
        clock.Restart();
        sink.Publish(new ScenarioStartedEvent(scenario.Name, clock.Elapsed, seed, profileName, options.Mutation,
            guests.Count, guests.Sum(g => g.Spec.Vcpus)));
        // A run bounded by accessesPerVcpu alone ends when its vCPUs are done, however long that takes.
        control.Open(options.Duration ?? scenario.Duration ?? (scenario.AccessesPerVcpu is null ? Scenario.DefaultDuration : null));
        SampleUntilDone(scenario, guests, control, sink, clock, options.RetryBurstThreshold);

        control.RequestStop();
        workers.ForEach(w => w.RequestStop());
        foreach (var thread in threads)
        {
            // Named wait: every vCPU and activity thread notices the stop within a batch or a sleep.
            SchedulingPoint.Join(thread);
        }

        // kswapd first: an invalidation it has open would look like an unbalanced one to the checks below.
        memory.StopKswapd();
        control.ThrowIfFailed();
        foreach (var problem in guests.SelectMany(g => g.EndOfRunProblems()))
        {
            host.Violations.Report(OracleViolations.ProtocolAtEnd, new AccessSite("runner", -1, 0), -1, problem);
        }

        foreach (var client in clients)
        {
            client.Check(); // each client kind's consistency rule, once more with everything stopped
        }

        // Final memory content, as the guests left it: after every writer stopped, before any teardown.
        guests.ForEach(g => g.TakeMemoryDigest());
        var execution = guests.Select(g => g.LastVcpuLeft).Where(t => t is not null).DefaultIfEmpty(TimeSpan.Zero).Max()!.Value;

        // Tear down before summing up, so the releases this causes are in both the log and the summary.
        clients.ForEach(c => c.Dispose());
        // Every VM first, then each VMM process once (two VMs may share one).
        guests.ForEach(g => g.Vm.Dispose());
        foreach (var mm in guests.Select(g => g.Mm).Distinct())
        {
            if (!mm.IsDead)
            {
                mm.Exit();
            }
        }

        var elapsed = clock.Elapsed;
        foreach (var guest in guests)
        {
            // The last statistics event of a run carries its final counters (a log alone reproduces the summary).
            sink.Publish(new StatsEvent(scenario.Name, elapsed, guest.Summarize(final: true), Final: true));
        }

        var summary = SummaryBuilder.Build(scenario.Name, seed, elapsed, profileName, options.Mutation, guests, host, sink.Published)
            with
            {
                Clients = [.. clients.Select(c => c.Summarize())],
                ExecutionSeconds = Math.Round(execution.TotalSeconds, 6),
                Activities = [.. tallies.Select(t => t.Summarize())],
            };
        sink.Publish(new ScenarioEndedEvent(scenario.Name, elapsed, summary));
        return summary;
    }

    private static void WireViolations(HostSystem host, string scenario, RunClock clock, EventSink sink, int perKind)
    {
        var published = new ConcurrentDictionary<string, int>();
        host.Violations.Observer = v =>
        {
            if (published.AddOrUpdate(v.Kind.Name, 1, static (_, n) => n + 1) <= perKind)
            {
                sink.Publish(new ViolationEvent(scenario, clock.Elapsed, v));
            }
        };
    }

    private List<Thread> CreateActivityThreads(Scenario scenario, HostSystem host, HostMemoryManager memory, List<GuestInstance> guests,
        RunControl control, ulong seed, EventSink sink, RunClock clock, List<ActivityTally> tallies)
    {
        var threads = new List<Thread>();
        foreach (var (spec, index) in scenario.Activities.Select((a, i) => (a, i)))
        {
            if (!_executors.TryGet(spec.Kind, out var executor))
            {
                throw new InvalidOperationException($"no executor for activity kind '{spec.Kind}'");
            }

            var context = new ActivityContext(host, memory, guests, control, new Random(unchecked((int)seed) ^ (index * 7919)),
                (kind, guest, outcome) => new HostActivityEvent(scenario.Name, clock.Elapsed, kind, guest, outcome), sink);
            var thread = SchedulingPoint.CreateThread($"activity:{spec.Kind}:{spec.Guest}", control.Guard(() =>
            {
                var jitter = new Random(unchecked((int)seed) ^ (index * 104729) ^ 0x5eed);
                for (long n = 0; spec.TryGetFiringTime(n, out var at); n++)
                {
                    if (spec.AtJitter > TimeSpan.Zero)
                    {
                        at += TimeSpan.FromTicks(jitter.NextInt64(spec.AtJitter.Ticks + 1));
                    }

                    if (!control.Sleep(at - clock.Elapsed))
                    {
                        return;
                    }

                    var started = clock.Elapsed;
                    var outcome = executor.Fire(context, spec);
                    tallies[index].Fired(context.Guest(spec), clock.Elapsed - started, outcome);
                    context.Report(spec.Kind, spec.Guest, outcome);
                }
            }));
            threads.Add(thread);
        }

        return threads;
    }

    /// <summary>
    /// Publishes statistics every interval until the run stops. The duration is a timer in <see cref="RunControl"/>,
    /// not this loop's business: with thousands of runnable threads this thread gets a small share of the cores, so a
    /// pass over every guest can take long, and it gives up as soon as the stop comes.
    /// </summary>
    private static void SampleUntilDone(Scenario scenario, List<GuestInstance> guests, RunControl control,
        EventSink sink, RunClock clock, long burstThreshold)
    {
        var lastRetries = new Dictionary<(string, int), (long Retries, long Faults)>();
        var interval = scenario.StatsInterval;
        while (control.Sleep(interval))
        {
            foreach (var guest in guests.TakeWhile(_ => !control.StopRequested))
            {
                sink.Publish(new StatsEvent(scenario.Name, clock.Elapsed, guest.Summarize()));
                foreach (var vcpu in guest.Vm.Vcpus)
                {
                    var now = vcpu.Stats.Snapshot();
                    var before = lastRetries.GetValueOrDefault((guest.Name, vcpu.Index));
                    if (now.TotalRetries - before.Retries >= burstThreshold)
                    {
                        sink.Publish(new RetryBurstEvent(scenario.Name, clock.Elapsed, guest.Name, vcpu.Index,
                            now.TotalRetries - before.Retries, now.Faults - before.Faults, interval));
                    }

                    lastRetries[(guest.Name, vcpu.Index)] = (now.TotalRetries, now.Faults);
                }
            }

            if (guests.All(g => g.Mm.IsDead))
            {
                break;
            }
        }
    }
}
