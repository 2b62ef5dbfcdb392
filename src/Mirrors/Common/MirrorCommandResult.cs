using Hypervisor.HostMemory;

namespace Hypervisor.Mirrors.Common;

/// <summary>
/// What a device command returned (<c>struct hmm_dmirror_cmd</c>'s outputs): the status (<c>-EFAULT</c> is
/// <see cref="HostStatus.NoVma"/>, <c>-EPERM</c> is <see cref="HostStatus.AccessDenied"/>), the pages the device
/// copied (<c>cpages</c>) and how many times it had to fault (<c>faults</c>).
/// </summary>
public readonly record struct MirrorCommandResult(HostStatus Status, ulong CPages, int Faults);
