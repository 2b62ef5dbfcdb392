namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Reads the <c>offset</c> and <c>size</c> parameters that several kinds share.</summary>
internal static class GuestRangeReader
{
    /// <summary>Default <c>size</c> of a range parameter.</summary>
    public const long DefaultSize = 16L << 20;

    /// <summary>
    /// Reads <c>offset</c> (default 0) and <c>size</c> (default 16MiB, shortened to the end of guest memory), both
    /// page-aligned, and checks the range lies inside the guest's memory when the guest is known.
    /// </summary>
    public static GuestRange Read(ParameterReader reader)
    {
        var offset = reader.Size("offset", 0, SizeRules.PageAligned);
        var explicitSize = reader.OptionalSize("size", SizeRules.PositivePages);
        if (reader.Guest is not { } guest)
        {
            return new GuestRange(offset, explicitSize ?? DefaultSize);
        }

        var memory = ScenarioUnits.FormatSize(guest.Memory);
        if (offset >= guest.Memory)
        {
            reader.Error("offset", $"expected an offset inside guest '{guest.Name}' memory of {memory}, got {ScenarioUnits.FormatSize(offset)}");
            return new GuestRange(0, Math.Min(DefaultSize, guest.Memory));
        }

        var size = explicitSize ?? Math.Min(DefaultSize, guest.Memory - offset);
        if (offset + size > guest.Memory)
        {
            reader.Error("size", $"expected offset + size within guest '{guest.Name}' memory of {memory}, " +
                $"got {ScenarioUnits.FormatSize(offset)} + {ScenarioUnits.FormatSize(size)} = {ScenarioUnits.FormatSize(offset + size)}");
            size = guest.Memory - offset;
        }

        return new GuestRange(offset, size);
    }
}
