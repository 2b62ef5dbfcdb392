namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>How a <see cref="RecordingNotifier"/> answers <c>InvalidateRangeStart</c>.</summary>
public enum StartPolicy
{
    /// <summary>Always succeeds (a well-behaved secondary MMU).</summary>
    Accept,

    /// <summary>Refuses non-blockable starts (<c>-EAGAIN</c>, allowed), accepts blockable ones.</summary>
    RefuseNonBlockable,

    /// <summary>Refuses every start, including blockable ones (a protocol violation on the notifier's side).</summary>
    RefuseAll,
}
