namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>host-write</c>: the VMM itself writes into guest RAM (device emulation, virtio).</summary>
/// <param name="Range">The guest-physical range written.</param>
/// <param name="Writes">How many page writes, spread over the range.</param>
public sealed record HostWriteParameters(GuestRange Range, int Writes) : ActivityParameters
{
    /// <summary>Default of <see cref="Writes"/>.</summary>
    public const int DefaultWrites = 1000;
}
