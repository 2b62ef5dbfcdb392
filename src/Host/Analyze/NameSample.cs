namespace Hypervisor.Host.Analyze;

/// <summary>
/// Matches a filter value against an event property (ignoring case; an event without the property passes) and
/// remembers the first few distinct values seen, so a filter that matched nothing can say what was there.
/// </summary>
internal sealed class NameSample
{
    private const int Kept = 20;

    private readonly SortedSet<string> _seen = new(StringComparer.Ordinal);
    private bool _more;

    /// <summary>True once an event carrying the property matched the filter value.</summary>
    public bool Matched { get; private set; }

    public bool Matches(string wanted, string? actual)
    {
        if (actual is null)
        {
            return true;
        }

        if (_seen.Count < Kept)
        {
            _seen.Add(actual);
        }
        else
        {
            _more |= !_seen.Contains(actual);
        }

        var match = string.Equals(wanted, actual, StringComparison.OrdinalIgnoreCase);
        Matched |= match;
        return match;
    }

    public string Describe() => _seen.Count == 0 ? "none" : string.Join(", ", _seen) + (_more ? ", ..." : string.Empty);
}
