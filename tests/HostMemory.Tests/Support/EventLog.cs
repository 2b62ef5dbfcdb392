namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>
/// An ordered, thread-safe log of notifier callbacks and test markers. Several notifiers share one log so that the
/// interleaving of their callbacks, and of the test's own steps, can be asserted.
/// </summary>
public sealed class EventLog
{
    // Guards _entries and _next: appends get their sequence number and their slot in one step.
    private readonly Lock _lock = new();
    private readonly List<NotifierCall> _entries = [];
    private long _next;

    /// <summary>Appends an entry built from its sequence number, atomically with respect to other appends.</summary>
    public NotifierCall Append(Func<long, NotifierCall> build)
    {
        lock (_lock)
        {
            var entry = build(_next++);
            _entries.Add(entry);
            return entry;
        }
    }

    /// <summary>Records a point in the test's own code, ordered with the callbacks.</summary>
    public NotifierCall Mark(string author, string text) =>
        Append(seq => new NotifierCall(seq, author, CallbackKind.Marker, default, default, null, null, true,
            Environment.CurrentManagedThreadId, EmptyPtes, EmptyFrames, text));

    /// <summary>A snapshot of every entry so far, in order.</summary>
    public IReadOnlyList<NotifierCall> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The entries of one notifier (or marker author), in order.</summary>
    public IReadOnlyList<NotifierCall> Of(string notifier) => [.. Entries.Where(e => e.Notifier == notifier)];

    /// <summary>The first marker with exactly <paramref name="text"/>.</summary>
    public NotifierCall MarkerNamed(string text) => Entries.First(e => e.Kind == CallbackKind.Marker && e.Text == text);

    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }

    /// <summary>Every entry on its own line, for assertion messages.</summary>
    public string Dump() => string.Join(Environment.NewLine, Entries);

    internal static readonly IReadOnlyDictionary<Hva, ulong> EmptyPtes = new Dictionary<Hva, ulong>();
    internal static readonly IReadOnlyDictionary<Pfn, FrameSnapshot> EmptyFrames = new Dictionary<Pfn, FrameSnapshot>();
}
