using System.Text;
using Hypervisor.Host.Configuration;

namespace Hypervisor.Host.Cli;

/// <summary>
/// The one way the tool writes a file it was asked to produce (<c>run --summary</c>, <c>analyze --out</c>, the daemon's
/// summary directory). It never replaces or truncates anything but the output: a directory or one of the inputs
/// named as the output is refused before any work; a device or pipe (<c>/dev/null</c>) is written into, not replaced;
/// a regular file (or a new one) is written to a temporary file beside it, forced to disk and renamed over it, so a
/// reader never sees half of it and a failed write (a full disk) leaves the old content and reports the failure.
/// </summary>
internal static class OutputFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Checks, before the work that produces the output, that <paramref name="path"/> can be written as
    /// <paramref name="option"/>: not a directory, not one of <paramref name="inputs"/>, in a directory that exists (or
    /// is created) and lets us create files. Throws <see cref="BadInputException"/> naming the option otherwise.
    /// </summary>
    public static void Check(string option, string path, IEnumerable<string> inputs)
    {
        var target = FileIdentity.Of(path);
        if (target is { Kind: FileKind.Directory })
        {
            throw new BadInputException($"{option}: expected a file to write, got the directory '{path}'");
        }

        if (target is { } existing)
        {
            foreach (var input in inputs)
            {
                if (FileIdentity.Of(input) is { } read && read.SameFileAs(existing))
                {
                    throw new BadInputException($"{option}: expected an output other than the input '{input}', got '{path}' (it would be replaced)");
                }
            }

            if (existing.Kind == FileKind.Other)
            {
                // A device or a pipe is written into; opening a pipe here would wait for its reader.
                return;
            }
        }

        try
        {
            var directory = DirectoryOf(path);
            Directory.CreateDirectory(directory);
            using var probe = new FileStream(TemporaryName(path), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BadInputException($"{option}: expected a file that can be written, got '{path}' ({e.Message})", e);
        }
    }

    /// <summary>
    /// Writes the output through <paramref name="write"/> (UTF-8, no byte-order mark), after <see cref="Check"/>. A
    /// failed write throws <see cref="IOException"/> with a one-line message naming the option and the file; the
    /// target then holds its old content (or, if it is a device, what reached it).
    /// </summary>
    public static void Write(string option, string path, IEnumerable<string> inputs, Action<TextWriter> write)
    {
        Check(option, path, inputs);
        try
        {
            if (FileIdentity.Of(path) is { Kind: FileKind.Other })
            {
                using var device = new StreamWriter(new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1), Utf8);
                write(device);
                device.Flush();
                return;
            }

            WriteAndRename(FinalTarget(path), write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option}: cannot write '{path}': {e.Message}", e);
        }
    }

    private static void WriteAndRename(string target, Action<TextWriter> write)
    {
        var temporary = TemporaryName(target);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var writer = new StreamWriter(stream, Utf8))
            {
                write(writer);
                writer.Flush();

                // fsync: a full disk or an I/O error shows here, before the old file is replaced, not after.
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The file a symbolic link leads to: renaming over the link would replace the link, not the file.</summary>
    private static string FinalTarget(string path)
    {
        var full = Path.GetFullPath(path);
        return new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
    }

    private static string DirectoryOf(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;

    private static string TemporaryName(string path) =>
        Path.Combine(DirectoryOf(path), $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}
