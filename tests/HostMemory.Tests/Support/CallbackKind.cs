namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>What an <see cref="EventLog"/> entry records: one of the notifier callbacks, or a test's own marker.</summary>
public enum CallbackKind
{
    Release,
    InvalidateRangeStart,
    InvalidateRangeEnd,
    InvalidatePage,
    ClearFlushYoung,
    ClearYoung,
    TestYoung,

    /// <summary>A callback that was blocked by a <see cref="CallbackGate"/> has returned.</summary>
    CallbackReturned,

    /// <summary>A point in the test's own code (an operation returned, a thread started...).</summary>
    Marker,
}
