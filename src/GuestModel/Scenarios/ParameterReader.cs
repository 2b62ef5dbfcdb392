using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// Typed, positioned access to the keys of one YAML mapping of a scenario file (a section, a guest, an activity).
/// Every problem becomes a <see cref="ScenarioError"/> at the line and column of the offending value, with the field
/// path; nothing throws. The reader remembers which keys were asked for, so keys nobody asked for can be reported as
/// unknown. A key whose value is empty or <c>null</c> counts as absent.
/// </summary>
public sealed partial class ParameterReader
{
    private readonly ScenarioErrorSink _errors;
    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly List<string> _keysInFileOrder = [];
    private readonly List<string> _asked = [];
    private readonly Mark _start;

    internal ParameterReader(YamlMappingNode? mapping, string path, ScenarioErrorSink errors, HostSpec? host = null, GuestSpec? guest = null)
    {
        _errors = errors;
        Path = path;
        Host = host;
        Guest = guest;
        _start = mapping?.Start ?? Mark.Empty;
        if (mapping is null)
        {
            return;
        }

        foreach (var (key, value) in mapping.Children)
        {
            if (key is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                errors.Add(key.Start, path, $"expected a field name, got {Describe(key)}");
                continue;
            }

            // YamlDotNet refuses duplicate keys as a syntax error, so each name is new here.
            _entries.Add(name, (key, value));
            _keysInFileOrder.Add(name);
        }
    }

    /// <summary>The field path of the mapping (<c>guests[0]</c>, <c>activities[2]</c>); empty for the document root.</summary>
    public string Path { get; }

    /// <summary>The simulated host, for activity parameters; <see langword="null"/> if the host section was invalid (already reported) and in dry runs.</summary>
    public HostSpec? Host { get; }

    /// <summary>The guest an activity acts on; <see langword="null"/> if it names none or an unknown one, and in dry runs.</summary>
    public GuestSpec? Guest { get; }

    /// <summary>The 1-based line where the mapping starts.</summary>
    public int Line => (int)_start.Line;

    /// <summary>The keys asked for so far, in the order asked (the allowed keys, for a kind's parameters).</summary>
    public IReadOnlyList<string> AskedKeys => _asked;

    /// <summary>Whether the key is present with a non-null value. Counts as asking for it.</summary>
    public bool Has(string key) => Value(key) is not null;

    /// <summary>Reports a problem with a field: at its value if present, else at the start of the mapping.</summary>
    /// <param name="key">The field the problem concerns.</param>
    /// <param name="message">What was expected and what was found.</param>
    public void Error(string key, string message)
    {
        var at = _entries.TryGetValue(key, out var entry) ? entry.Value.Start : _start;
        _errors.Add(at, KeyPath(key), message);
    }

    /// <summary>Reports a problem with the mapping as a whole, at its start.</summary>
    public void Error(string message) => _errors.Add(_start, Path, message);

    /// <summary>The path of a field of this mapping.</summary>
    public string KeyPath(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Number of errors recorded in the whole load so far; compare before and after to see if a part failed.</summary>
    internal int ErrorCount => _errors.Count;

    /// <summary>The value node of a key, or <see langword="null"/> when absent or null. Counts as asking for it.</summary>
    internal YamlNode? Value(string key)
    {
        if (!_asked.Contains(key))
        {
            _asked.Add(key);
        }

        return _entries.TryGetValue(key, out var entry) && !IsNull(entry.Value) ? entry.Value : null;
    }

    /// <summary>A reader for the mapping under <paramref name="key"/>; <see langword="null"/> when absent or not a mapping (reported).</summary>
    internal ParameterReader? Mapping(string key, bool required = false)
    {
        var node = Value(key);
        if (node is null)
        {
            if (required)
            {
                Error(key, "missing required field");
            }

            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            Error(key, $"expected a mapping, got {Describe(node)}");
            return null;
        }

        return new ParameterReader(mapping, KeyPath(key), _errors, Host, Guest);
    }

    /// <summary>
    /// Readers for the mappings of the list under <paramref name="key"/>; <see langword="null"/> when absent or not a
    /// list. Elements that are not mappings are reported and skipped.
    /// </summary>
    internal IReadOnlyList<ParameterReader>? MappingList(string key)
    {
        var node = Value(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Error(key, $"expected a list, got {Describe(node)}");
            return null;
        }

        var readers = new List<ParameterReader>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"{KeyPath(key)}[{i}]";
            if (sequence.Children[i] is YamlMappingNode element)
            {
                readers.Add(new ParameterReader(element, path, _errors, Host, Guest));
            }
            else
            {
                _errors.Add(sequence.Children[i].Start, path, $"expected a mapping, got {Describe(sequence.Children[i])}");
            }
        }

        return readers;
    }

    /// <summary>A reader over the same keys that knows the host and the activity's guest (for kind parameters).</summary>
    internal ParameterReader WithContext(HostSpec? host, GuestSpec? guest) => new(this, host, guest);

    /// <summary>
    /// Reports every key that was not asked for as unknown, listing the allowed ones: <paramref name="allowed"/>, or
    /// the keys asked for when it is <see langword="null"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loader asked for a key missing from <paramref name="allowed"/> (a bug).</exception>
    internal void ReportUnknownKeys(IReadOnlyList<string>? allowed = null)
    {
        if (allowed is not null)
        {
            var unlisted = _asked.Where(k => !allowed.Contains(k)).ToList();
            if (unlisted.Count > 0)
            {
                throw new InvalidOperationException(
                    $"The loader reads {string.Join(", ", unlisted)} at '{Path}' but ScenarioFields does not list it.");
            }
        }

        var known = allowed ?? _asked;
        foreach (var key in _keysInFileOrder.Where(k => !known.Contains(k)))
        {
            var suggestion = Suggest(key, known);
            var hint = suggestion is null ? string.Empty : $"; did you mean \"{suggestion}\"?";
            var list = known.Count == 0 ? "none" : string.Join(", ", known);
            _errors.Add(_entries[key].Key.Start, KeyPath(key), $"unknown field{hint} (allowed: {list})");
        }
    }

    private ParameterReader(ParameterReader source, HostSpec? host, GuestSpec? guest)
    {
        _errors = source._errors;
        _entries = source._entries;
        _keysInFileOrder = source._keysInFileOrder;
        _asked = source._asked;
        _start = source._start;
        Path = source.Path;
        Host = host;
        Guest = guest;
    }

    /// <summary>How a node reads in "got ..." messages: plain scalars as written, quoted ones quoted, collections by kind.</summary>
    internal static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when IsNull(scalar) => "nothing",
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => scalar.Value ?? string.Empty,
        YamlScalarNode scalar => $"\"{scalar.Value}\"",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an alias",
    };

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static string? Suggest(string key, IReadOnlyList<string> known)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in known)
        {
            var distance = string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(candidate, key);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
