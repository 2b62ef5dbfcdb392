using Hypervisor.Host.Daemon;
using NUnit.Framework;
using Serilog.Debugging;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// The file sink reports a failed write only to Serilog's self-log; the monitor turns it into one immediate failure.
/// These tests inject the self-log messages Serilog writes for a full disk, so they need no full file system.
/// </summary>
[TestFixture]
[NonParallelizable]
public class LogWriteMonitorTests
{
    private const string FullDisk = "2026-12-02T15:25:01.0000000Z Failed to emit event to wrapped sink: System.IO.IOException: " +
        "No space left on device : '/var/log/hypervisor/hypervisor-20261202.jsonl'\n   at System.IO.RandomAccess.WriteAtOffset(...)";

    [Test]
    public void A_failed_write_calls_the_policy_once_with_a_one_line_reason()
    {
        var reasons = new List<string>();
        using var console = new StringWriter();
        using (new LogWriteMonitor(reasons.Add, console))
        {
            SelfLog.WriteLine(FullDisk);
            SelfLog.WriteLine(FullDisk);
        }

        Assert.That(reasons.Single(), Is.EqualTo("IOException: No space left on device : '/var/log/hypervisor/hypervisor-20261202.jsonl'"),
            "once, without the stack trace");
    }

    [Test]
    public void Other_self_log_messages_are_printed_first_line_only_and_stop_nothing()
    {
        var reasons = new List<string>();
        using var console = new StringWriter();
        using (new LogWriteMonitor(reasons.Add, console))
        {
            SelfLog.WriteLine("Capturing the property value threw an exception: {0}", "x\n   at y");
        }

        Assert.That(reasons, Is.Empty, "not a write failure");
        Assert.That(console.ToString(), Does.StartWith("hypervisor: log: ").And.Not.Contain("   at "), "printed, not silent");
    }

    [Test]
    public void A_self_log_without_a_write_failure_is_not_one() =>
        Assert.That(LogWriteMonitor.WriteFailure("Maximum destructuring depth reached."), Is.Null);
}
