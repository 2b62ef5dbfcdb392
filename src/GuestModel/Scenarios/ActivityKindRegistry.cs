using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Hypervisor.GuestModel.Scenarios.Activities;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// The activity kinds a loader knows, by name. Open: a layer that adds a host activity registers its
/// <see cref="IActivityKind"/> here and the loader core stays untouched. Not thread-safe: register everything before
/// the first load.
/// </summary>
public sealed partial class ActivityKindRegistry
{
    private readonly List<IActivityKind> _kinds = [];

    /// <summary>The registered kinds, in registration order.</summary>
    public IReadOnlyList<IActivityKind> Kinds => _kinds;

    /// <summary>The registered kind names, in registration order.</summary>
    public IReadOnlyList<string> Names => [.. _kinds.Select(k => k.Name)];

    /// <summary>A new registry with the built-in kinds: fork, munmap-remap, madvise-dontneed, mprotect, host-write, notifier-reregister, exit.</summary>
    public static ActivityKindRegistry CreateDefault()
    {
        var registry = new ActivityKindRegistry();
        registry.Register(new ForkActivityKind());
        registry.Register(new MunmapRemapActivityKind());
        registry.Register(new MadviseDontneedActivityKind());
        registry.Register(new MunmapActivityKind());
        registry.Register(new MprotectActivityKind());
        registry.Register(new HostWriteActivityKind());
        registry.Register(new NotifierReregisterActivityKind());
        registry.Register(new ExitActivityKind());
        registry.Register(new HostPassActivityKind("aging", defaultPages: null));
        registry.Register(new HostPassActivityKind("reclaim", defaultPages: 1024));
        registry.Register(new HostPassActivityKind("writeback", defaultPages: null));
        registry.Register(new HostPassActivityKind("migrate", defaultPages: 256));
        registry.Register(new HostPassActivityKind("ksm", defaultPages: null));
        registry.Register(new HostPassActivityKind("khugepaged", defaultPages: 4));
        registry.Register(new OomActivityKind());
        registry.Register(new GupFastActivityKind());
        return registry;
    }

    /// <summary>Adds a kind.</summary>
    /// <exception cref="ArgumentException">The name is malformed or already registered.</exception>
    public void Register(IActivityKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (!NamePattern().IsMatch(kind.Name))
        {
            throw new ArgumentException($"Activity kind name '{kind.Name}' must match [a-z0-9-]+.", nameof(kind));
        }

        if (TryGet(kind.Name, out _))
        {
            throw new ArgumentException($"Activity kind '{kind.Name}' is already registered.", nameof(kind));
        }

        _kinds.Add(kind);
    }

    /// <summary>Looks a kind up by its scenario-file name.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out IActivityKind? kind)
    {
        kind = _kinds.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));
        return kind is not null;
    }

    /// <summary>
    /// The parameter keys <paramref name="kind"/> accepts, found by a dry run of its <see cref="IActivityKind.Parse"/>
    /// on an empty mapping (the contract says a kind asks for every key it accepts on every call).
    /// </summary>
    public static IReadOnlyList<string> ParameterNames(IActivityKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var reader = new ParameterReader(null, string.Empty, new ScenarioErrorSink("(dry run)"));
        kind.Parse(reader);
        return [.. reader.AskedKeys];
    }

    [GeneratedRegex("^[a-z0-9-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
