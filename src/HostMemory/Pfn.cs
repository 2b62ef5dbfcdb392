namespace Hypervisor.HostMemory;

/// <summary>
/// A host page frame number: the index of a 4 KiB frame in <see cref="Physical.PhysicalMemory"/>.
/// Frame 0 is the shared zero page (the kernel's <c>ZERO_PAGE</c>); it is never allocated or freed.
/// </summary>
public readonly record struct Pfn(int Value)
{
    public static readonly Pfn Zero = new(0);

    public bool IsZeroPage => Value == 0;

    public override string ToString() => $"pfn {Value}";
}
