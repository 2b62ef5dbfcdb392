using Hypervisor.Host.Experiments.Studies;
using Hypervisor.HostMemory.Notifiers;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Experiments;

/// <summary>
/// The exact half of invalidate-page-vs-range: a single-page operation runs one <c>invalidate_page</c> under the
/// 2008 profile and one start plus one end under the modern one, at every call site seeds/000 names.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class CallbacksPerOperationTests
{
    private const int Pages = 256;

    [TestCase("copy-on-write")]
    [TestCase("reclaim")]
    [TestCase("writeback")]
    public void A_single_page_operation_runs_one_callback_under_legacy2008_and_two_under_modern(string siteName)
    {
        var site = Enum.Parse<SinglePageSite>(siteName.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true);
        var (legacyOps, legacyCallbacks) = InvalidatePageVsRange.CountCallbacks(NotifierProfile.Legacy2008, site, Pages);
        var (modernOps, modernCallbacks) = InvalidatePageVsRange.CountCallbacks(NotifierProfile.Modern, site, Pages);
        Assert.Multiple(() =>
        {
            Assert.That(legacyOps, Is.EqualTo(Pages), "every page of the batch went through the call site once (legacy2008)");
            Assert.That(modernOps, Is.EqualTo(Pages), "every page of the batch went through the call site once (modern)");
            Assert.That(legacyCallbacks, Is.EqualTo(legacyOps), "invalidate_page: one callback per single-page operation");
            Assert.That(modernCallbacks, Is.EqualTo(2 * modernOps), "invalidate_range_start + invalidate_range_end: two per operation");
        });
    }

    [Test]
    public void The_disarmed_cost_counts_one_range_start_per_copy_on_write_page()
    {
        Assert.That(DisarmedCost.StartsPerPage(DisarmedCost.HostOperation.CopyOnWrite, Pages), Is.EqualTo(1.0),
            "do_wp_page brackets its one page with one start/end pair");
        Assert.That(DisarmedCost.StartsPerPage(DisarmedCost.HostOperation.HostFault, Pages), Is.Zero,
            "a demand fault on an empty page invalidates nothing");
    }
}
