using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests;

public class SmokeTests
{
    [Test]
    public void Fork_then_write_copies_and_isolates()
    {
        var host = new HostSystem(new HostOptions { RamBytes = 64L << 20 });
        var mm = host.CreateAddressSpace("vmm");
        var at = mm.Mmap(1 << 20, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        Assert.That(mm.HostWrite(at, 42), Is.EqualTo(HostStatus.Ok), "first write faults in a page");
        var child = mm.Fork("child");
        Assert.That(mm.HostWrite(at, 43), Is.EqualTo(HostStatus.Ok), "parent write after fork copies");
        child.HostRead(at, out var childValue);
        mm.HostRead(at, out var parentValue);
        Assert.Multiple(() =>
        {
            Assert.That(childValue, Is.EqualTo(42UL), "the child keeps the value at fork time");
            Assert.That(parentValue, Is.EqualTo(43UL), "the parent sees its own write");
            Assert.That(host.Read(HostCounter.CowFaults), Is.EqualTo(1), "one COW fault");
        });
        child.Exit();
        mm.Exit();
        Assert.That(host.Violations.Total, Is.Zero, "no violations");
        Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame returned");
    }
}
