namespace Hypervisor.Host.Cli;

/// <summary>The kind of file a path names (<see cref="FileIdentity"/>).</summary>
internal enum FileKind
{
    /// <summary>A regular file: an output replaces it with a temporary file renamed over it.</summary>
    Regular,

    /// <summary>A directory: never an output.</summary>
    Directory,

    /// <summary>A device, pipe or socket (<c>/dev/null</c>, <c>/dev/stdout</c>): an output is written into it.</summary>
    Other,
}
