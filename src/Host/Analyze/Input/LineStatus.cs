namespace Hypervisor.Host.Analyze.Input;

/// <summary>What <see cref="Utf8LineReader.ReadLine"/> found.</summary>
internal enum LineStatus
{
    /// <summary>No more lines.</summary>
    EndOfStream = 0,

    /// <summary>A line ended by a newline.</summary>
    Complete,

    /// <summary>The last line of the stream, without a newline: possibly cut short by a crash or a copy in progress.</summary>
    Unterminated,

    /// <summary>A line longer than <see cref="Utf8LineReader.MaxLineBytes"/>; its bytes were skipped.</summary>
    Oversized,
}
