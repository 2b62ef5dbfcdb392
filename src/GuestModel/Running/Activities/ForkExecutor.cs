using Hypervisor.GuestModel.Oracle;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Running.Activities;

/// <summary>
/// The guest's VMM forks (a snapshot, a helper process). The child lives a while, reading and writing guest memory
/// through its own mappings, and checks copy-on-write isolation: on private memory it must never see a parent
/// write (guest or host) made after the fork, nor another child's writes, and it must read back its own writes.
/// The parent's vCPUs reading a child's value are caught by the guest oracle.
/// </summary>
public sealed class ForkExecutor : IActivityExecutor
{
    private const int OpsPerPause = 32;
    private static int _children;

    public string Kind => "fork";

    public string Fire(ActivityContext context, ActivitySpec spec)
    {
        var guest = GuestRanges.RequireGuest(context, spec);
        var parameters = (ForkParameters)spec.Parameters;
        AddressSpace child;
        try
        {
            if (guest.Mm.TryFork($"{guest.Name}-child", out var forked) != HostStatus.Ok)
            {
                return "out of memory";
            }

            child = forked!;
        }
        catch (InvalidOperationException)
        {
            return "parent exited";
        }

        var vcpuSeqAtFork = guest.Oracle.SnapshotSeqs();
        var hostSeqAtFork = guest.Oracle.CurrentHostSeq;
        var childId = (Interlocked.Increment(ref _children) % 100) + 1;
        var checker = new ChildChecker(guest, context.Host.Violations, childId, vcpuSeqAtFork, hostSeqAtFork);
        var pause = parameters.ChildWrites == 0 ? parameters.ChildLifetime
            : parameters.ChildLifetime / Math.Max(1, parameters.ChildWrites / OpsPerPause);
        var ops = 0;
        // The run's clock, not the wall clock: in a controlled run the child's lifetime is virtual time, so a replay
        // wakes it at the same step whatever the machine's load.
        var clock = (TimeProvider?)SchedulingPoint.VirtualTime ?? TimeProvider.System;
        var deadline = clock.GetTimestamp() + (long)(parameters.ChildLifetime.Ticks * (clock.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
        while (ops < parameters.ChildWrites && !context.Control.StopRequested)
        {
            var page = context.Random.NextInt64(guest.Spec.Pages);
            var slot = guest.SlotOf(page);
            if (slot is not null)
            {
                checker.Touch(child, slot, page, write: slot.IsPrivate && !slot.Spec.ReadOnly && (ops & 1) == 0);
            }

            if (++ops % OpsPerPause == 0)
            {
                context.Control.Sleep(pause);
            }
        }

        context.Control.Sleep(clock.GetElapsedTime(clock.GetTimestamp(), deadline));
        checker.VerifyOwnWrites(child);
        child.Exit();
        return $"child {childId}: {ops} accesses, {checker.Violations} isolation violations";
    }

    private sealed class ChildChecker(GuestInstance guest, ViolationLog log, int childId, long[] vcpuSeqAtFork, long hostSeqAtFork)
    {
        private readonly Dictionary<long, ulong> _written = [];
        private long _seq;

        public int Violations { get; private set; }

        public void Touch(AddressSpace child, SlotLayout slot, long page, bool write)
        {
            var hva = slot.HvaOfPage(page);
            if (write)
            {
                var value = ValueCodec.Encode(ValueCodec.TagChild, childId, page, ++_seq);
                if (child.HostWrite(hva, value) == HostStatus.Ok)
                {
                    _written[page] = value;
                }

                return;
            }

            if (child.HostRead(hva, out var read) == HostStatus.Ok && slot.IsPrivate)
            {
                Check(page, read);
            }
        }

        public void VerifyOwnWrites(AddressSpace child)
        {
            foreach (var (page, _) in _written)
            {
                var slot = guest.SlotOf(page)!;
                if (child.HostRead(slot.HvaOfPage(page), out var read) == HostStatus.Ok)
                {
                    Check(page, read);
                }
            }
        }

        private void Check(long page, ulong read)
        {
            string? problem;
            if (_written.TryGetValue(page, out var mine))
            {
                problem = read == mine ? null : $"fork child {childId} wrote {ValueCodec.Describe(mine)} but read {ValueCodec.Describe(read)}";
            }
            else
            {
                problem = ValueCodec.Tag(read) switch
                {
                    // A freed frame reused by another guest can hand the child a value no vCPU of this guest wrote.
                    ValueCodec.TagVcpu when ValueCodec.Writer(read) >= vcpuSeqAtFork.Length =>
                        $"fork child {childId} read {ValueCodec.Describe(read)}, which no vCPU of {guest.Name} wrote",
                    ValueCodec.TagVcpu when ValueCodec.SeqAfter(ValueCodec.Seq(read), vcpuSeqAtFork[ValueCodec.Writer(read)]) =>
                        $"fork child {childId} saw the parent's {ValueCodec.Describe(read)}, made after the fork",
                    ValueCodec.TagHost when ValueCodec.SeqAfter(ValueCodec.Seq(read), hostSeqAtFork) =>
                        $"fork child {childId} saw the parent's {ValueCodec.Describe(read)}, made after the fork",
                    ValueCodec.TagChild when ValueCodec.Writer(read) != childId =>
                        $"fork child {childId} saw another child's write",
                    _ => null,
                };
            }

            if (problem is not null)
            {
                Violations++;
                log.Report(OracleViolations.CowIsolation, new AccessSite($"{guest.Name}-child", -1, (ulong)page), -1, problem);
            }
        }
    }
}
