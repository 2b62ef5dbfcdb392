using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>
/// Writes log lines exactly as the log contract describes them, in either layout (<see cref="Layout"/>): the compact one
/// the daemon writes (<c>@t</c>, <c>@l</c> unless Information, the catalogue id as <c>@i</c>, properties at the top level,
/// <c>Invalidation</c> without Scenario, Profile and EndHva) or the older Serilog <c>JsonFormatter</c> with
/// <c>renderMessage</c> (<c>Timestamp</c>, <c>Level</c>, <c>MessageTemplate</c>, <c>RenderedMessage</c>,
/// <c>Properties</c> with <c>EventId</c> and <c>SourceContext</c>). Times are seconds after <see cref="Origin"/>.
/// </summary>
internal sealed class SyntheticLog : IDisposable
{
    public static readonly DateTimeOffset DefaultOrigin = new(2026, 11, 21, 20, 5, 1, TimeSpan.Zero);

    private static readonly byte[] Newline = "\n"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly Utf8JsonWriter _json;

    public SyntheticLog(Stream stream, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public DateTimeOffset Origin { get; init; } = DefaultOrigin;

    /// <summary>Which of the two layouts the lines take.</summary>
    public LogLayout Layout { get; init; } = LogLayout.Compact;

    private bool Compact => Layout == LogLayout.Compact;

    /// <summary>Renders numeric properties as JSON strings (<c>"Pages":"4"</c>), as a lenient reader must accept.</summary>
    public bool NumbersAsStrings { get; init; }

    /// <summary>Adds <c>"_typeTag"</c> to destructured objects, as Serilog does for typed structures.</summary>
    public bool TypeTags { get; init; } = true;

    public static SyntheticLog Create(string path) => new(File.Create(path));

    public void ScenarioStarted(double at, string scenario, string runId, string profile, ulong seed = 42, string? mutation = null,
        int guests = 1, int vcpus = 2) =>
        Event(at, 1, "ScenarioStarted", "Scenario {Scenario} started (run {RunId}, seed {Seed}, profile {Profile})", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            Number(w, "Seed", seed);
            w.WriteString("Profile", profile);
            if (mutation is null)
            {
                w.WriteNull("Mutation");
            }
            else
            {
                w.WriteString("Mutation", mutation);
            }

            Number(w, "Guests", guests);
            Number(w, "Vcpus", vcpus);
        });

    public void ScenarioEnded(double at, string scenario, string runId, double duration, long violations = 0) =>
        Event(at, 2, "ScenarioEnded", "Scenario {Scenario} ended after {DurationSeconds}s with {Violations} violations", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            Number(w, "DurationSeconds", duration);
            Number(w, "Violations", violations);
            Number(w, "ExitCode", violations == 0 ? 0 : 1);
        });

    public void Invalidation(double at, Invalidation i) =>
        Event(at, 3, "Invalidation",
            "Invalidation {Event} ({NotifierEvent}) of {Guest} [{StartHva}, {EndHva}) {Pages} pages, {SptesZapped} SPTEs zapped in {DurationMicros} µs",
            w =>
            {
                if (!Compact)
                {
                    w.WriteString("Scenario", i.Scenario);
                }

                w.WriteString("RunId", i.RunId);
                w.WriteString("Guest", i.Guest);
                if (!Compact)
                {
                    w.WriteString("Profile", i.Profile);
                }

                w.WriteString("Event", i.Event);
                w.WriteString("NotifierEvent", i.NotifierEvent);
                w.WriteString("StartHva", Hex(i.StartHva));
                if (!Compact)
                {
                    w.WriteString("EndHva", Hex(i.StartHva + ((ulong)i.Pages * 4096)));
                }

                Number(w, "Pages", i.Pages);
                Number(w, "SptesZapped", i.SptesZapped);
                Number(w, "VcpusFlushed", i.TlbFlushed ? 2 : 0);
                w.WriteBoolean("TlbFlushed", i.TlbFlushed);
                Number(w, "DurationMicros", i.DurationMicros);
                w.WriteBoolean("SinglePage", i.SinglePage);
                Number(w, "ElapsedSeconds", i.ElapsedSeconds ?? at);
            });

    public void RetryBurst(double at, string scenario, string runId, string guest, int vcpu, long retries) =>
        Event(at, 4, "RetryBurst", "Retry burst on {Guest} vCPU {Vcpu}: {Retries} retries", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            w.WriteString("Guest", guest);
            Number(w, "Vcpu", vcpu);
            Number(w, "Retries", retries);
            Number(w, "Faults", retries * 2);
            Number(w, "WindowMs", 100);
        });

    public void Statistics(double at, Statistics s) =>
        Event(at, 5, "Statistics", "Statistics of {Guest}: {Faults} faults, {FaultRetries} retries", w =>
        {
            w.WriteString("Scenario", s.Scenario);
            w.WriteString("RunId", s.RunId);
            w.WriteString("Guest", s.Guest);
            Number(w, "ElapsedSeconds", s.ElapsedSeconds ?? at);
            w.WriteBoolean("Final", s.Final);
            Number(w, "Accesses", s.Accesses);
            Number(w, "Faults", s.Faults);
            Number(w, "FaultRetries", s.RetriesByReason.Values.Sum());
            Number(w, "Invalidations", s.Invalidations);
            Number(w, "SptesZapped", s.SptesZapped);
            Number(w, "TlbFlushes", s.TlbFlushes);
            Number(w, "TlbFlushWaitMicros", s.TlbFlushWaitMicros);
            Number(w, "TlbHits", s.Accesses - s.Faults);
            Number(w, "MmioExits", 0);
            Number(w, "YoungCalls", s.YoungCalls);
            Number(w, "YoungTrue", s.YoungTrue);
            w.WriteStartObject("RetriesByReason");
            foreach (var (reason, count) in s.RetriesByReason)
            {
                Number(w, reason, count);
            }

            w.WriteEndObject();
        });

    public void Violation(double at, string scenario, string runId, string guest, string kind) =>
        Event(at, 6, "Violation", "Violation {Kind} in {Guest}: {Detail}", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            w.WriteString("Kind", kind);
            w.WriteString("Guest", guest);
            Number(w, "Vcpu", 0);
            Number(w, "Address", 4096);
            Number(w, "Pfn", 7);
            Number(w, "AtSeconds", at);
            w.WriteString("Detail", "stale read");
        }, level: "Error");

    /// <summary>A run summary whose totals are <paramref name="totals"/>, with one line per entry of <paramref name="guests"/>.</summary>
    public void RunSummary(double at, string scenario, string runId, string profile, double duration, Totals totals,
        IReadOnlyDictionary<string, Totals>? guests = null, IReadOnlyList<SyntheticClient>? clients = null) =>
        Event(at, 7, "RunSummary", "Run {RunId} of {Scenario} summary: {@Summary}", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            w.WriteStartObject("Summary");
            Tag(w, "RunSummary");
            w.WriteString("Scenario", scenario);
            Number(w, "Seed", 42);
            Number(w, "DurationSeconds", duration);
            w.WriteString("NotifierProfile", profile == "modern" ? "Modern" : "Legacy2008");
            w.WriteNull("Mutation");
            w.WriteStartObject("Violations");
            Number(w, "Total", 0);
            w.WriteStartObject("ByKind");
            w.WriteEndObject();
            w.WriteStartArray("First");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("Totals");
            Tag(w, "Totals");
            WriteTotals(w, totals);
            Number(w, "AccessesPerSecond", 1000.5);
            w.WriteEndObject();
            w.WriteStartArray("Guests");
            foreach (var (name, guest) in guests ?? new Dictionary<string, Totals>())
            {
                w.WriteStartObject();
                Tag(w, "GuestSummary");
                w.WriteString("Name", name);
                Number(w, "Vcpus", 2);
                WriteTotals(w, guest);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (clients is not null)
            {
                w.WriteStartArray("Clients");
                foreach (var c in clients)
                {
                    w.WriteStartObject();
                    Tag(w, "ClientSummary");
                    w.WriteString("Name", c.Name);
                    w.WriteString("Kind", c.Kind);
                    w.WriteString("Guest", c.Guest);
                    Number(w, "Operations", c.Operations);
                    Number(w, "Invalidations", c.Invalidations);
                    Number(w, "Refusals", c.Refusals);
                    Number(w, "Retries", c.Retries);
                    Number(w, "Faults", c.Faults);
                    Number(w, "EntriesDropped", c.EntriesDropped);
                    Number(w, "CallbackMicros", c.CallbackMicros);
                    Number(w, "CoherenceChecks", 1);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartObject("Host");
            Number(w, "forks", 1);
            w.WriteEndObject();
            Number(w, "EventsPublished", 123);
            w.WriteEndObject();
        });

    public void HostActivity(double at, string scenario, string runId, string guest, string kind, string outcome) =>
        Event(at, 8, "HostActivity", "Host activity {Kind} on {Guest}: {Outcome}", w =>
        {
            w.WriteString("Scenario", scenario);
            w.WriteString("RunId", runId);
            w.WriteString("Kind", kind);
            w.WriteString("Guest", guest);
            w.WriteString("Outcome", outcome);
            Number(w, "ElapsedSeconds", at);
        });

    /// <summary>An event with only its id (the daemon and pipeline events 9-14, or an unknown id).</summary>
    public void Bare(double at, int id, string name) =>
        Event(at, id, name, name, w => w.WriteString("Detail", "x"));

    /// <summary>Writes text as it is, with a newline unless <paramref name="newline"/> is false (a truncated last line).</summary>
    public void Raw(string text, bool newline = true)
    {
        _json.Flush();
        _stream.Write(Encoding.UTF8.GetBytes(text));
        if (newline)
        {
            _stream.Write(Newline);
        }
    }

    public void Dispose()
    {
        _json.Dispose();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    private void Event(double at, int id, string name, string template, Action<Utf8JsonWriter> properties, string level = "Information")
    {
        var w = _json;
        w.Reset(_stream);
        w.WriteStartObject();
        var time = Origin + TimeSpan.FromSeconds(at);
        if (Compact)
        {
            w.WriteString("@t", time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (level != "Information")
            {
                w.WriteString("@l", level);
            }

            w.WriteNumber("@i", id);
            properties(w);
        }
        else
        {
            w.WriteString("Timestamp", time.ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture));
            w.WriteString("Level", level);
            w.WriteString("MessageTemplate", template);
            w.WriteString("RenderedMessage", template.Replace("{", string.Empty, StringComparison.Ordinal).Replace("}", string.Empty, StringComparison.Ordinal));
            w.WriteStartObject("Properties");
            properties(w);
            w.WriteStartObject("EventId");
            w.WriteNumber("Id", id);
            w.WriteString("Name", name);
            w.WriteEndObject();
            w.WriteString("SourceContext", "Hypervisor.Host.Logging.EventLog");
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.Flush();
        _stream.Write(Newline);
    }

    private void Number(Utf8JsonWriter w, string name, double value)
    {
        if (NumbersAsStrings)
        {
            w.WriteString(name, value.ToString("R", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNumber(name, value);
        }
    }

    private void Number(Utf8JsonWriter w, string name, long value)
    {
        if (NumbersAsStrings)
        {
            w.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNumber(name, value);
        }
    }

    private void Number(Utf8JsonWriter w, string name, ulong value) => Number(w, name, (long)value);

    private void Number(Utf8JsonWriter w, string name, int value) => Number(w, name, (long)value);

    private void Tag(Utf8JsonWriter w, string type)
    {
        if (TypeTags)
        {
            w.WriteString(Compact ? "$type" : "_typeTag", type);
        }
    }

    private void WriteTotals(Utf8JsonWriter w, Totals t)
    {
        Number(w, "Accesses", 1000);
        Number(w, "Faults", t.Faults);
        Number(w, "FaultRetries", t.FaultRetries);
        Number(w, "Invalidations", t.Invalidations);
        Number(w, "SptesZapped", t.SptesZapped);
        Number(w, "TlbFlushes", t.TlbFlushes);
        Number(w, "TlbHits", 900);
    }

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
