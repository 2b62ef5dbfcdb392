using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// Wraps YamlDotNet's event parser and stops, with a positioned <see cref="YamlException"/>, at input a scenario never
/// has: nesting deeper than <see cref="ScenarioLimits.MaxNesting"/>, and YAML tags (<c>!!binary</c>, <c>!custom</c>).
/// </summary>
/// <remarks>
/// YamlDotNet 16's event parser keeps its state on a heap stack, but its node tree (<c>YamlStream.Load</c>) recurses
/// once per level and has no depth setting, so 30,000 nested <c>[</c> overflowed the process stack. Counting levels
/// here, between the two, bounds the recursion before it starts. Tags are refused because the loader reads every
/// value by its own rules: a tag would be silently ignored (<c>ram: !!binary 1GiB</c> read as 1 GiB).
/// </remarks>
internal sealed class BoundedYamlParser(IParser inner) : IParser
{
    private int _depth;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        switch (inner.Current)
        {
            case NodeEvent { Tag.IsEmpty: false } tagged:
                throw new LimitExceeded(tagged.Start, tagged.End,
                    $"expected a plain value, got the YAML tag {tagged.Tag} (tags are not supported in scenario files)");
            case SequenceStart or MappingStart when ++_depth > ScenarioLimits.MaxNesting:
                throw new LimitExceeded(inner.Current.Start, inner.Current.End,
                    $"expected lists and mappings nested at most {ScenarioLimits.MaxNesting} deep");
            case SequenceEnd or MappingEnd:
                _depth--;
                break;
        }

        return true;
    }

    /// <summary>The input is valid YAML but beyond what a scenario file may hold; the message says what was expected.</summary>
    internal sealed class LimitExceeded(Mark start, Mark end, string message) : YamlException(start, end, message);
}
