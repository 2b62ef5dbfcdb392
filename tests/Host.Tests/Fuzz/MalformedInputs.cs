using System.Globalization;
using System.Text;

namespace Hypervisor.Host.Tests.Fuzz;

/// <summary>
/// Generates malformed input, seeded: scenario files mutated from the shipped ones (bytes flipped, lines cut, dropped
/// or repeated, values swapped for hostile ones, structure nested thousands deep, tags, anchors, control characters,
/// huge numbers and sizes, truncations) and command lines built from the tool's verbs and options with bad values.
/// The same seed gives the same inputs, so a failure is reproduced by its seed and index.
/// </summary>
internal sealed class MalformedInputs(int seed)
{
    private static readonly string[] HostileValues =
    [
        "", "~", "null", "-1", "0", "-0", "1e400", "NaN", ".inf", "-.inf", "99999999999999999999999", "9223372036854775807",
        "18446744073709551616", "9999999TiB", "8TiB", "8192GiB", "1TiB", "-5ms", "0s", "999999h", "600h", "596h", "1e9h", "1.5.5s",
        "[]", "{}", "[1, 2]", "{a: 1}", "!!binary 1GiB", "!!str 64", "!custom x", "&anchor 1", "*missing", "\"\\u0000\"",
        "'unterminated", "\"unterminated", "|", ">", "? key", "- item", "\t", "\u00e9\u00e8", "\ud83d\ude00", "0x10", "0b101",
        "true", "yes", "on", "1_000", "1,000", "  ", "#", "@", "`", "%YAML 1.2",
    ];

    private static readonly string[] Fragments =
    [
        "[", "]", "{", "}", ":", ": ", "- ", "&a ", "*a", "!!binary ", "!tag ", "---\n", "...\n", "\t", "\0", "\r", "\u2028",
        "\"", "'", "#", "|\n", ">-\n", "? ", ",", "%TAG ! tag:x,2000:\n", "<<: *a\n",
    ];

    private readonly Random _random = new(seed);

    /// <summary>The seed these inputs come from.</summary>
    public int Seed { get; } = seed;

    /// <summary>A malformed scenario text derived from one of <paramref name="bases"/>.</summary>
    public string Scenario(IReadOnlyList<string> bases)
    {
        var text = bases[_random.Next(bases.Count)];
        var mutations = 1 + _random.Next(4);
        for (var i = 0; i < mutations; i++)
        {
            text = Mutate(text);
        }

        return text;
    }

    /// <summary>A command line: a verb and options, at least one of them bad, never one that runs for long.</summary>
    public string[] CommandLine(string scenario, string directory)
    {
        var verbs = new[] { "run", "validate", "analyze", "serve", "nonsense", "" };
        var verb = verbs[_random.Next(verbs.Length)];
        var args = new List<string>();
        if (verb.Length > 0)
        {
            args.Add(verb);
        }

        var options = new (string Name, string[] Values)[]
        {
            ("--seed", ["-1", "abc", "18446744073709551616", "", "1e3"]),
            ("--duration", ["0", "-1s", "abc", "999999h", "600h", "1.5", "", "10"]),
            ("--profile", ["", "modern2", "LEGACY2008", "legacy", "0"]),
            ("--mutation", ["", "nope", "no-seq-check ", "legacy-invalidate-after-free"]),
            ("--summary", [scenario, directory, "/dev/full", "/proc/nope/x.json", "", "/"]),
            ("--log-dir", ["/dev/null", "/proc/nope", "", scenario]),
            ("--config", ["/nonexistent.json", scenario, "", "/dev/zero"]),
            ("--format", ["xml", "", "TABLE2"]),
            ("--out", [scenario, directory, "/dev/full", ""]),
            ("--since", ["yesterday", "-5s", "", "2026-13-45"]),
            ("--until", ["1x", "", "tomorrow"]),
            ("--Daemon:StatsInterval", ["0", "-1", "abc"]),
            ("--Logging:AsyncBufferSize", ["0", "-5", "x"]),
            ("--unknown-option", ["1"]),
        };
        var count = 1 + _random.Next(3);
        for (var i = 0; i < count; i++)
        {
            var (name, values) = options[_random.Next(options.Length)];
            args.Add(name);
            if (_random.Next(8) != 0)
            {
                args.Add(values[_random.Next(values.Length)]);
            }
        }

        if (verb is "run" or "validate" or "analyze")
        {
            args.Insert(1, _random.Next(3) == 0 ? "/nonexistent.yaml" : scenario);
        }

        if (verb == "run")
        {
            // A line that turns out valid still ends quickly.
            args.AddRange(["--duration", "200ms"]);
        }

        return [.. args];
    }

    private string Mutate(string text) => _random.Next(12) switch
    {
        0 => FlipBytes(text),
        1 => Truncate(text),
        2 => DropLine(text),
        3 => RepeatLine(text),
        4 => ReplaceValue(text),
        5 => Insert(text, Fragments[_random.Next(Fragments.Length)]),
        6 => Nest(text),
        7 => ReplaceValue(text),
        8 => Indent(text),
        9 => Insert(text, new string(Fragments[_random.Next(Fragments.Length)][0], 1 + _random.Next(200))),
        10 => LongLine(text),
        _ => ReplaceValue(ReplaceValue(text)),
    };

    private string FlipBytes(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < 1 + _random.Next(8) && chars.Length > 0; i++)
        {
            chars[_random.Next(chars.Length)] = (char)_random.Next(1, 128);
        }

        return new string(chars);
    }

    private string Truncate(string text) => text.Length == 0 ? text : text[.._random.Next(text.Length)];

    private string DropLine(string text)
    {
        var lines = text.Split('\n').ToList();
        lines.RemoveAt(_random.Next(lines.Count));
        return string.Join('\n', lines);
    }

    private string RepeatLine(string text)
    {
        var lines = text.Split('\n').ToList();
        var at = _random.Next(lines.Count);
        lines.InsertRange(at, Enumerable.Repeat(lines[at], 1 + _random.Next(_random.Next(2) == 0 ? 3 : 3000)));
        return string.Join('\n', lines);
    }

    private string ReplaceValue(string text)
    {
        var lines = text.Split('\n');
        var candidates = lines.Select((l, i) => (l, i)).Where(p => p.l.Contains(": ", StringComparison.Ordinal)).ToList();
        if (candidates.Count == 0)
        {
            return text;
        }

        var (line, index) = candidates[_random.Next(candidates.Count)];
        lines[index] = line[..(line.IndexOf(": ", StringComparison.Ordinal) + 2)] + HostileValues[_random.Next(HostileValues.Length)];
        return string.Join('\n', lines);
    }

    private string Insert(string text, string fragment)
    {
        var at = _random.Next(text.Length + 1);
        return text[..at] + fragment + text[at..];
    }

    private string Nest(string text)
    {
        var depth = _random.Next(4) switch { 0 => 60 + _random.Next(10), 1 => 1000, 2 => 30_000, _ => 100_000 };
        var (open, close) = _random.Next(3) switch { 0 => ("[", "]"), 1 => ("{a: ", "}"), _ => ("- ", string.Empty) };
        var nested = new StringBuilder();
        if (open == "- ")
        {
            for (var i = 0; i < Math.Min(depth, 3000); i++)
            {
                nested.Append(' ', i * 2).Append("- x:\n");
            }
        }
        else
        {
            nested.Insert(0, open, depth).Append('1');
            if (_random.Next(2) == 0)
            {
                nested.Insert(nested.Length, close, depth);
            }
        }

        return ReplaceValueWith(text, nested.ToString());
    }

    private string ReplaceValueWith(string text, string value)
    {
        var lines = text.Split('\n');
        var candidates = lines.Select((l, i) => (l, i)).Where(p => p.l.Contains(": ", StringComparison.Ordinal)).ToList();
        if (candidates.Count == 0)
        {
            return text + "\nx: " + value;
        }

        var (line, index) = candidates[_random.Next(candidates.Count)];
        lines[index] = line[..(line.IndexOf(": ", StringComparison.Ordinal) + 2)] + value;
        return string.Join('\n', lines);
    }

    private string Indent(string text)
    {
        var lines = text.Split('\n');
        var at = _random.Next(lines.Length);
        lines[at] = new string(_random.Next(2) == 0 ? ' ' : '\t', 1 + _random.Next(40)) + lines[at];
        return string.Join('\n', lines);
    }

    private string LongLine(string text) =>
        ReplaceValueWith(text, new string('9', 1 + _random.Next(100_000)).ToString(CultureInfo.InvariantCulture));
}
