namespace Hypervisor.Host.Analyze.Input;

/// <summary>
/// Turns the LOG arguments into the ordered list of files to read. A directory stands for every <c>*.json</c>,
/// <c>*.jsonl</c> and <c>*.log</c> file directly in it, sorted by name with ordinal comparison, which puts Serilog's
/// rolled files in order (<c>hypervisor20261121.json</c> before <c>hypervisor20261121_001.json</c>, days in date
/// order). Files named explicitly are read in the order given. A file reached twice (named twice, under two names, or
/// named and inside a named directory) is read once, at its first place: reading it again would count its events twice.
/// </summary>
internal static class LogFileSet
{
    /// <summary>The extensions a directory argument expands to.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".json", ".jsonl", ".log"];

    /// <summary>Expands the arguments; throws <see cref="LogInputException"/> naming the first one that does not exist.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        var any = false;
        foreach (var argument in arguments)
        {
            any = true;
            if (File.Exists(argument))
            {
                files.Add(argument);
                continue;
            }

            if (!Directory.Exists(argument))
            {
                throw new LogInputException($"{argument}: file not found");
            }

            var inDirectory = Directory.EnumerateFiles(argument)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(RollOrder.Instance)
                .ToList();
            if (inDirectory.Count == 0)
            {
                throw new LogInputException($"{argument}: no {string.Join(", ", Extensions.Select(e => "*" + e))} files in this directory");
            }

            files.AddRange(inDirectory);
        }

        if (!any)
        {
            throw new LogInputException("no LOG given: name log files or directories");
        }

        var seen = new HashSet<Cli.FileIdentity>();
        return [.. files.Where(f => Cli.FileIdentity.Of(f) is not { } identity || seen.Add(identity))];
    }

    /// <summary>
    /// Orders by name, except that a base name sorts before its roll suffixes: Serilog's first file of a period has no
    /// suffix (<c>x20261121.json</c>), the next ones <c>_001</c>, <c>_002</c>, so comparing the name without extension
    /// first keeps <c>x20261121.json</c> ahead of <c>x20261121_001.json</c> whatever the extension's characters are.
    /// </summary>
    private sealed class RollOrder : IComparer<string>
    {
        public static readonly RollOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var byStem = string.CompareOrdinal(Path.GetFileNameWithoutExtension(x), Path.GetFileNameWithoutExtension(y));
            return byStem != 0 ? byStem : string.CompareOrdinal(x, y);
        }
    }
}
