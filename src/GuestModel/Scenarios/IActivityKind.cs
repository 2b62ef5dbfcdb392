namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// A kind of host activity a scenario can schedule (<c>fork</c>, <c>mprotect</c>, ...), registered in an
/// <see cref="ActivityKindRegistry"/>. The loader parses the common keys (<c>kind</c>, <c>guest</c>, <c>at</c>,
/// <c>every</c>, <c>count</c>) and hands the rest to <see cref="Parse"/>; new kinds plug in without touching it.
/// </summary>
public interface IActivityKind
{
    /// <summary>The value of <c>kind</c> in a scenario file: <c>[a-z0-9-]+</c>, unique within a registry.</summary>
    string Name { get; }

    /// <summary>Whether an activity of this kind must name a guest (most act on one guest's VMM process).</summary>
    bool NeedsGuest => true;

    /// <summary>
    /// Reads and checks the kind's parameters. Contract: it asks <paramref name="reader"/> for every parameter it
    /// accepts on every call, present or not (the keys asked for are the allowed keys: anything else in the file is
    /// reported as unknown, and a dry run on an empty mapping lists the parameters for the schema and docs); it
    /// reports problems through the reader, never by throwing; and it copes with <see cref="ParameterReader.Guest"/>
    /// being <see langword="null"/> (an unknown guest, already reported, or a dry run).
    /// </summary>
    /// <param name="reader">Typed access to the activity's keys, positioned for errors.</param>
    /// <returns>The parameters; with errors reported, any value (the scenario is rejected anyway).</returns>
    ActivityParameters Parse(ParameterReader reader);
}
