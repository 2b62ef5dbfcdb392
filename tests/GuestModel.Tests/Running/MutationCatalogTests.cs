using Hypervisor.GuestModel.Running;
using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Names whose variants are caught by deterministic tests rather than by a race-hunt run: the name must select exactly
/// the variant those tests exercise.
/// </summary>
public sealed class MutationCatalogTests
{
    [Test]
    public void Register_without_pin_selects_the_host_variant_that_ReattachExitTests_catches()
    {
        // register-without-pin: a registration during the last exit's release is caught deterministically by
        // ShadowMmu.Tests ReattachExitTests (the parked-thread test), and by reregister-exit.yaml about one run in three.
        Assert.That(MutationCatalog.TryParse("register-without-pin", out var mutation), Is.True, "the name is known");
        Assert.Multiple(() =>
        {
            Assert.That(mutation.Host, Is.EqualTo(HostMutations.RegisterWithoutPin), "it removes the registration's mmget/mmput pin");
            Assert.That(mutation.Shadow, Is.EqualTo(ShadowMutations.None), "and nothing on the KVM side");
            Assert.That(MutationCatalog.Names, Does.Contain("register-without-pin"), "it is listed for --mutation");
        });
    }
}
