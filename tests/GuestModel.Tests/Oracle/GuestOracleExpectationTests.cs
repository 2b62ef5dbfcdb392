using Hypervisor.GuestModel.Oracle;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Oracle;

/// <summary>
/// The oracle keeps one 32-bit word per page: every expectation must still be exact, whether it has a compact form
/// (zero, the owner's own write, a duplicate value) or is kept whole (a host value, a value left by a violation).
/// </summary>
[TestFixture]
public class GuestOracleExpectationTests
{
    private const int Vcpus = 2;
    private static readonly ulong Duplicate = ValueCodec.Encode(ValueCodec.TagDuplicate, 0, 0, 3);

    private ViolationLog _violations = null!;
    private GuestOracle _oracle = null!;

    [SetUp]
    public void SetUp()
    {
        _violations = new ViolationLog();
        _oracle = new GuestOracle("g", pages: 64, Vcpus, _violations);
    }

    private ulong Write(int vcpu, long page)
    {
        var value = _oracle.NextWriteValue(vcpu, page);
        _oracle.Wrote(vcpu, page, value);
        return value;
    }

    [Test]
    public void The_owner_reading_back_its_last_write_zero_or_a_duplicate_is_clean()
    {
        _oracle.CheckRead(0, 4, 0, new Pfn(1)); // never written
        var value = Write(0, 4);
        _oracle.CheckRead(0, 4, value, new Pfn(1));
        _oracle.Wrote(0, 6, Duplicate);
        _oracle.CheckRead(0, 6, Duplicate, new Pfn(2));

        Assert.That(_violations.Total, Is.Zero, "each read returned exactly what the owner last stored");
    }

    [Test]
    public void An_older_write_of_the_owner_is_a_stale_read_however_many_writes_lie_between()
    {
        foreach (var between in new[] { 1, 255, 1 << 16 })
        {
            SetUp();
            var old = Write(1, 3);
            for (var i = 0; i < between; i++)
            {
                _oracle.NextWriteValue(1, 5); // other writes move the vCPU's sequence on
            }

            Write(1, 3);
            _oracle.CheckRead(1, 3, old, new Pfn(1));

            Assert.That(_violations.Count(OracleViolations.StaleRead), Is.EqualTo(1),
                $"the value {between} writes older than the last one is not what the owner must read back");
        }
    }

    [Test]
    public void Zero_after_a_write_with_no_discard_is_a_lost_write_and_a_duplicate_for_an_own_write_is_foreign()
    {
        Write(0, 8);
        _oracle.CheckRead(0, 8, 0, new Pfn(1));
        Write(0, 10);
        _oracle.CheckRead(0, 10, Duplicate, new Pfn(1));

        Assert.That(_violations.Count(OracleViolations.LostWrite), Is.EqualTo(1), "no discard explains the zero");
        Assert.That(_violations.Count(OracleViolations.ForeignData), Is.EqualTo(1), "the owner never stored the duplicate there");
    }

    [Test]
    public void A_host_value_explained_by_a_host_write_is_kept_whole_and_then_required()
    {
        var e = _oracle.BeginEvent(HostEventKind.HostWrite, 0, 64);
        Write(0, 12); // numbered before the event's end sample: the host write may overtake it
        var host = _oracle.NextHostValue(12);
        _oracle.EndEvent(e);
        _oracle.CheckRead(0, 12, host, new Pfn(1));
        Assert.That(_violations.Total, Is.Zero, "the host write explains its value");

        _oracle.CheckRead(0, 12, host, new Pfn(1));
        Assert.That(_violations.Total, Is.Zero, "the host value is now what the owner must read back");

        _oracle.CheckRead(0, 12, 0, new Pfn(1));
        Assert.That(_violations.Count(OracleViolations.LostWrite), Is.EqualTo(1), "the escaped host value was kept, not forgotten");
    }

    [Test]
    public void A_broken_page_is_reported_once_and_then_expects_what_was_read()
    {
        Write(1, 7);
        var foreign = ValueCodec.Encode(ValueCodec.TagChild, 3, 7, 99);
        _oracle.CheckRead(1, 7, foreign, new Pfn(1));
        _oracle.CheckRead(1, 7, foreign, new Pfn(1));
        Assert.That(_violations.Count(OracleViolations.CowIsolation), Is.EqualTo(1), "reported on the first read only");

        var value = Write(1, 7);
        _oracle.CheckRead(1, 7, value, new Pfn(1));
        _oracle.CheckRead(1, 7, foreign, new Pfn(1));
        Assert.That(_violations.Count(OracleViolations.CowIsolation), Is.EqualTo(2),
            "a new own write replaces the kept value, so the foreign one is wrong again");
    }
}
