using Hypervisor.GuestModel.Summary;
using Spectre.Console;

namespace Hypervisor.Host.Cli;

/// <summary>Prints a run summary as readable tables.</summary>
internal static class SummaryTable
{
    /// <summary>Guests shown one per row; the rest are counted in one line, and in the total.</summary>
    public const int MaxGuestRows = 32;

    public static void Print(IAnsiConsole console, RunSummary s)
    {
        console.MarkupLine($"[bold]{Markup.Escape(s.Scenario)}[/]  seed {s.Seed}  {s.DurationSeconds:0.0} s  profile {s.NotifierProfile}"
            + (s.Mutation is null ? string.Empty : $"  mutation [yellow]{Markup.Escape(s.Mutation)}[/]"));
        var guests = new Table().Border(TableBorder.Rounded)
            .AddColumns("guest", "accesses", "TLB hit", "faults", "retries", "invalidations", "SPTEs zapped", "TLB flushes", "MMIO");
        foreach (var g in s.Guests.Take(MaxGuestRows))
        {
            guests.AddRow(Markup.Escape(g.Name), N(g.Accesses), Pct(g.TlbHits, g.Accesses), N(g.Faults), N(g.FaultRetries),
                N(g.Invalidations), N(g.SptesZapped), N(g.TlbFlushes), N(g.MmioExits));
        }

        var t = s.Totals;
        guests.AddRow("[bold]total[/]", N(t.Accesses), Pct(t.TlbHits, t.Accesses), N(t.Faults), N(t.FaultRetries),
            N(t.Invalidations), N(t.SptesZapped), N(t.TlbFlushes), N(t.MmioExits));
        console.Write(guests);
        if (s.Guests.Count > MaxGuestRows)
        {
            // A thousand rows help no reader and took 1.4 s to lay out; the summary JSON has every guest.
            console.MarkupLine($"{MaxGuestRows} of {s.Guests.Count:N0} guests shown, all of them in the total (--summary writes every one)");
        }

        console.MarkupLine($"throughput: {t.AccessesPerSecond:N0} accesses/s, {t.FaultsPerSecond:N0} faults/s");

        PrintClients(console, s);
        var host = string.Join(", ", s.Host.Where(h => h.Value != 0).Select(h => $"{h.Key} {h.Value:N0}"));
        console.MarkupLine($"host: {Markup.Escape(host)}");
        if (s.Schedule is { } schedule)
        {
            // Virtual seconds: the duration above is the run's own clock, the scheduler's in a deterministic run.
            console.MarkupLine(Markup.Escape($"deterministic: {schedule.Strategy} schedule, seed {schedule.Seed}, {N(schedule.Steps)} steps, " +
                $"{N(schedule.Switches)} switches, {schedule.Threads} threads, trace hash {schedule.TraceHash}") +
                (schedule.Abandoned is null ? string.Empty : $" [red]control abandoned: {Markup.Escape(schedule.Abandoned)}[/]"));
        }

        if (s.Violations.Total == 0)
        {
            console.MarkupLine("[green]violations: 0[/]");
            return;
        }

        console.MarkupLine($"[red]violations: {s.Violations.Total:N0}[/]");
        var violations = new Table().Border(TableBorder.Rounded).AddColumns("kind", "count", "first occurrence");
        foreach (var first in s.Violations.First)
        {
            violations.AddRow(Markup.Escape(first.Kind), N(s.Violations.ByKind.GetValueOrDefault(first.Kind)),
                Markup.Escape($"{first.Guest} vcpu {first.Vcpu} addr 0x{first.Address:x} pfn {first.Pfn} at {first.AtSeconds:0.000}s: {first.Detail}"));
        }

        console.Write(violations);
    }

    /// <summary>Secondary MMUs other than KVM, one row each, then one row per kind when there are several.</summary>
    private static void PrintClients(IAnsiConsole console, RunSummary s)
    {
        if (s.Clients.Count == 0)
        {
            return;
        }

        var clients = new Table().Border(TableBorder.Rounded)
            .AddColumns("client", "kind", "guest", "operations", "invalidations", "refusals", "retries", "faults", "callback µs");
        foreach (var c in s.Clients)
        {
            clients.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Kind), Markup.Escape(c.Guest), N(c.Operations), N(c.Invalidations),
                N(c.Refusals), N(c.Retries), N(c.Faults), c.CallbackMicros.ToString("N1", System.Globalization.CultureInfo.InvariantCulture));
        }

        var kinds = s.Clients.GroupBy(c => c.Kind).ToList();
        if (s.Clients.Count > 1)
        {
            foreach (var kind in kinds)
            {
                clients.AddRow("[bold]all[/]", Markup.Escape(kind.Key), "", N(kind.Sum(c => c.Operations)),
                    N(kind.Sum(c => c.Invalidations)), N(kind.Sum(c => c.Refusals)), N(kind.Sum(c => c.Retries)), N(kind.Sum(c => c.Faults)),
                    kind.Sum(c => c.CallbackMicros).ToString("N1", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        console.Write(clients);
    }

    private static string N(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    private static string Pct(long part, long whole) => whole == 0 ? "-" : $"{100.0 * part / whole:0.0}%";
}
