using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Hypervisor.Host.Cli;

/// <summary>
/// What a path names, following symbolic links: its kind, and its device and inode, so that two names of one file
/// (a symbolic or hard link, <c>./x</c> and <c>x</c>) compare equal. .NET reports neither the file type (a device
/// looks like a regular file) nor the inode, so on Linux this asks the kernel with <c>statx(2)</c>, whose result layout
/// is the same on every architecture. Elsewhere the kind comes from <see cref="File"/> and <see cref="Directory"/>
/// and the identity is the full path with links resolved.
/// </summary>
internal readonly record struct FileIdentity(FileKind Kind, ulong Device, ulong Inode, string? FullPath)
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    /// <summary>What <paramref name="path"/> names now, or <see langword="null"/> when nothing does.</summary>
    public static FileIdentity? Of(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsLinux())
        {
            // struct statx: stx_mode (u16) at 28, stx_ino (u64) at 32, stx_dev_major/minor (u32) at 136/140.
            var buffer = new byte[256];
            if (Statx(AtFdCwd, full, 0, StatxType | StatxIno, buffer) == 0)
            {
                var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(28));
                var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(136)) << 32)
                    | BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(140));
                return new FileIdentity(KindOf(mode), device, BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(32)), null);
            }

            if (Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR)
            {
                return null;
            }
        }

        if (Directory.Exists(full))
        {
            return new FileIdentity(FileKind.Directory, 0, 0, Resolved(full));
        }

        return File.Exists(full) ? new FileIdentity(FileKind.Regular, 0, 0, Resolved(full)) : null;
    }

    /// <summary>True when both name the same file.</summary>
    public bool SameFileAs(FileIdentity other) => FullPath is null && other.FullPath is null
        ? Device == other.Device && Inode == other.Inode
        : string.Equals(FullPath, other.FullPath, StringComparison.Ordinal);

    private static FileKind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        _ => FileKind.Other,
    };

    private static string Resolved(string full) =>
        (File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName) ?? full;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
}
