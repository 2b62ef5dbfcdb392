namespace Hypervisor.Host.Analyze.Input;

/// <summary>Why a line was not analysed. None is fatal: each is counted and the first few are located.</summary>
internal enum ProblemKind
{
    /// <summary>The line is not JSON.</summary>
    NotJson,

    /// <summary>The last line of a file, without a newline, that is not complete JSON: cut short by a crash or a copy.</summary>
    Truncated,

    /// <summary>JSON without an event id (<c>@i</c>, <c>EventId</c> or <c>Properties.EventId</c>): a foreign line.</summary>
    NoEventId,

    /// <summary>An event id or name the catalogue does not know.</summary>
    UnknownEvent,

    /// <summary>A line longer than the reader accepts.</summary>
    Oversized,
}
