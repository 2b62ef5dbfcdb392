using System.Text.RegularExpressions;
using Hypervisor.HostMemory.Notifiers;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// Reads scenario files (YAML, camelCase keys) into validated <see cref="Scenario"/>s. Every problem, including a YAML
/// syntax error or a missing file, comes back as a positioned <see cref="ScenarioError"/> in the result; nothing
/// throws for bad input. All errors of a file are reported at once, in file order.
/// </summary>
public sealed partial class ScenarioLoader
{
    private readonly ActivityKindRegistry _registry;

    /// <summary>A loader that knows the built-in activity kinds (<see cref="ActivityKindRegistry.CreateDefault"/>).</summary>
    public ScenarioLoader()
        : this(ActivityKindRegistry.CreateDefault())
    {
    }

    /// <summary>A loader that knows the kinds of <paramref name="registry"/> (looked up at each load).</summary>
    public ScenarioLoader(ActivityKindRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
    }

    /// <summary>A shared loader with the built-in activity kinds.</summary>
    public static ScenarioLoader Default { get; } = new();

    /// <summary>Reads and validates the scenario file at <paramref name="path"/>; errors carry the path as given.</summary>
    public ScenarioLoadResult LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var errors = new ScenarioErrorSink(path);
        string text;
        try
        {
            if (ReadBounded(path) is not { } bounded)
            {
                errors.AddFileError($"expected a scenario file of at most {ScenarioUnits.FormatSize(ScenarioLimits.MaxFileBytes)}, got a larger one");
                return ScenarioLoadResult.Failure(errors.Sorted());
            }

            text = bounded;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            errors.AddFileError("file not found");
            return ScenarioLoadResult.Failure(errors.Sorted());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            errors.AddFileError($"cannot read the file: {e.Message}");
            return ScenarioLoadResult.Failure(errors.Sorted());
        }

        return Load(text, path, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>
    /// The file's text, or <see langword="null"/> when it holds more than <see cref="ScenarioLimits.MaxFileBytes"/>.
    /// Reads at most one byte past the limit, so a device without end (<c>/dev/zero</c>) or a huge file costs nothing.
    /// </summary>
    private static string? ReadBounded(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        var buffer = new byte[ScenarioLimits.MaxFileBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += read;
        }

        if (length > ScenarioLimits.MaxFileBytes)
        {
            return null;
        }

        // As File.ReadAllText: UTF-8 unless a byte-order mark says otherwise.
        using var reader = new StreamReader(new MemoryStream(buffer, 0, length), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>Reads and validates scenario text; <paramref name="displayName"/> names it in errors (a path, "&lt;stdin&gt;").</summary>
    public ScenarioLoadResult LoadText(string text, string displayName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(displayName);
        return Load(text, displayName, fileName: null);
    }

    /// <summary>
    /// Reads and validates scenario text; a <paramref name="fileName"/> (a file's name without its extension) must
    /// equal the scenario's <c>name</c>, as docs/scenarios.md says: logs, run ids and the daemon key runs by that
    /// name, so a copy edited without renaming would pass for the scenario it came from.
    /// </summary>
    private ScenarioLoadResult Load(string text, string displayName, string? fileName)
    {
        var errors = new ScenarioErrorSink(displayName);
        if (text.Length > ScenarioLimits.MaxFileBytes)
        {
            errors.AddFileError($"expected a scenario of at most {ScenarioUnits.FormatSize(ScenarioLimits.MaxFileBytes)}, got {text.Length} characters");
            return ScenarioLoadResult.Failure(errors.Sorted());
        }

        var root = ParseYaml(text, errors);
        if (root is null)
        {
            return ScenarioLoadResult.Failure(errors.Sorted());
        }

        var reader = new ParameterReader(root, string.Empty, errors);
        var scenario = ReadScenario(reader) with { Source = displayName };
        if (fileName is not null && scenario.Name.Length != 0 && !string.Equals(scenario.Name, fileName, StringComparison.Ordinal))
        {
            reader.Error("name", $"expected the name of the file, {fileName}, got {scenario.Name}: a scenario file is named after its scenario " +
                $"(rename the file to {scenario.Name}{Path.GetExtension(displayName)} or the scenario to {fileName})");
        }

        return errors.Count == 0 ? ScenarioLoadResult.Success(scenario) : ScenarioLoadResult.Failure(errors.Sorted());
    }

    /// <summary>The document's root mapping, or <see langword="null"/> with the reason reported.</summary>
    private static YamlMappingNode? ParseYaml(string text, ScenarioErrorSink errors)
    {
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        var parser = new BoundedYamlParser(new Parser(scanner));
        try
        {
            stream.Load(parser);
        }
        catch (BoundedYamlParser.LimitExceeded e)
        {
            errors.Add(e.Start, string.Empty, PositionPrefix().Replace(e.Message, string.Empty));
            return null;
        }
        catch (YamlException e)
        {
            errors.Add(e.Start, string.Empty, $"YAML syntax error: {PositionPrefix().Replace(e.Message, string.Empty)}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner gives up this way (without a position) on some truncated input, such as a flow
            // collection never closed; where it stopped is the best position there is.
            errors.Add(scanner.CurrentPosition, string.Empty, "YAML syntax error: unexpected end of the document (an unclosed [ or {?)");
            return null;
        }
        catch (ArgumentException)
        {
            // YamlDotNet's node loader rejects this way an event it did not expect where a value belongs (a document
            // marker such as "..." in the middle of a mapping); the parser's current event is where that happened.
            errors.Add(parser.Current?.Start ?? scanner.CurrentPosition, string.Empty,
                $"YAML syntax error: expected a value, got {parser.Current?.GetType().Name ?? "the end of the input"}");
            return null;
        }

        var documents = stream.Documents.Where(d => d.RootNode is not YamlScalarNode { Value: null or "" }).ToList();
        if (documents.Count == 0)
        {
            errors.AddFileError("the file is empty; a scenario needs at least name, host and guests");
            return null;
        }

        if (documents.Count > 1)
        {
            errors.Add(documents[1].RootNode.Start, string.Empty, $"expected one YAML document, got {documents.Count}");
            return null;
        }

        if (documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add(documents[0].RootNode.Start, string.Empty,
                $"expected a mapping of scenario fields, got {ParameterReader.Describe(documents[0].RootNode)}");
            return null;
        }

        return root;
    }

    private Scenario ReadScenario(ParameterReader reader)
    {
        var name = reader.RequiredName("name");
        var description = reader.OptionalString("description");
        var seed = reader.UInt64("seed", Scenario.DefaultSeed);
        var duration = reader.OptionalDuration("duration", positive: true);
        var accessBudget = reader.OptionalLong("accessBudget", min: 1);
        var accessesPerVcpu = reader.OptionalLong("accessesPerVcpu", min: 1);
        var statsInterval = reader.Duration("statsInterval", Scenario.DefaultStatsInterval, positive: true);
        var restart = reader.Enum("restart", RestartPolicy.Never);
        var host = ReadHost(reader.Mapping("host", required: true));
        var guests = ReadGuests(reader, host);
        var activities = ReadActivities(reader, host, guests);
        var clients = Clients.ClientSpecReader.Read(reader, guests);
        var deterministic = ReadDeterministic(reader.Mapping("deterministic"));
        reader.ReportUnknownKeys(ScenarioFields.TopLevel);
        var threads = guests.Sum(g => g.Vcpus) + activities.Count;
        if (threads > ScenarioLimits.MaxThreads)
        {
            reader.Error("guests", $"expected at most {ScenarioLimits.MaxThreads} vCPUs and activities in total (one thread each), " +
                $"got {guests.Sum(g => g.Vcpus)} vCPUs and {activities.Count} activities");
        }

        return new Scenario
        {
            Name = name,
            Description = description,
            Seed = seed,
            Duration = duration ?? (accessBudget is null && accessesPerVcpu is null ? Scenario.DefaultDuration : null),
            AccessBudget = accessBudget,
            AccessesPerVcpu = accessesPerVcpu,
            StatsInterval = statsInterval,
            Restart = restart,
            Host = host ?? new HostSpec { Ram = 0 },
            Guests = [.. guests],
            Activities = [.. activities],
            Clients = clients,
            Deterministic = deterministic,
        };
    }

    private static HostSpec? ReadHost(ParameterReader? reader)
    {
        if (reader is null)
        {
            return null;
        }

        var before = reader.ErrorCount;
        var host = new HostSpec
        {
            Ram = reader.RequiredSize("ram", SizeRules.PositivePages, ScenarioLimits.MaxHostRam),
            Swap = reader.Size("swap", 0, SizeRules.PageAligned, ScenarioLimits.MaxSwap),
            NotifierProfile = reader.Enum("notifierProfile", NotifierProfile.Modern),
            Cpus = reader.Int("cpus", 8, 1, ScenarioLimits.MaxHostCpus),
            TableFree = reader.Enum("tableFree", HostMemory.PageTables.TableFreeScheme.Ipi),
            GupFast = reader.Bool("gupFast", false),
            WalkerDelayEvery = reader.Int("walkerDelayEvery", 0, 0, int.MaxValue),
        };
        reader.ReportUnknownKeys(ScenarioFields.Host);
        return reader.ErrorCount == before ? host : null;
    }

    /// <summary>Matches the "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): " prefix of YamlDotNet messages.</summary>
    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex PositionPrefix();
}
