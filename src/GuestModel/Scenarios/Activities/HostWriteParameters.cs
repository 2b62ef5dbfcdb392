namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>host-write</c>: the VMM itself writes into guest RAM (device emulation, virtio).</summary>
/// <param name="Range">The guest-physical range written.</param>
/// <param name="Writes">How many page writes, spread over the range.</param>
/// <param name="ViaFile">
/// True: <c>write(2)</c> to the slot's backing file instead of a store through the VMM's mapping (file-backed slots
/// only; on an execute-in-place file this is <c>xip_file_write</c>, which runs <c>__xip_unmap</c> for each hole).
/// </param>
public sealed record HostWriteParameters(GuestRange Range, int Writes, bool ViaFile = false) : ActivityParameters, IRangeParameters
{
    /// <summary>Default of <see cref="Writes"/>.</summary>
    public const int DefaultWrites = 1000;
}
