namespace Hypervisor.HostMemory;

/// <summary>A host virtual address in the simulated VMM process (a <c>unsigned long</c> address in the kernel).</summary>
public readonly record struct Hva(ulong Value) : IComparable<Hva>
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    public const ulong PageMask = PageSize - 1;

    /// <summary>The virtual page number (<c>address &gt;&gt; PAGE_SHIFT</c>).</summary>
    public ulong PageNumber => Value >> PageShift;

    public bool IsPageAligned => (Value & PageMask) == 0;

    public static Hva FromPage(ulong pageNumber) => new(pageNumber << PageShift);

    public Hva AddPages(ulong pages) => new(Value + (pages << PageShift));

    public static Hva operator +(Hva hva, ulong bytes) => new(hva.Value + bytes);

    public int CompareTo(Hva other) => Value.CompareTo(other.Value);

    public static bool operator <(Hva a, Hva b) => a.Value < b.Value;
    public static bool operator >(Hva a, Hva b) => a.Value > b.Value;
    public static bool operator <=(Hva a, Hva b) => a.Value <= b.Value;
    public static bool operator >=(Hva a, Hva b) => a.Value >= b.Value;

    public override string ToString() => $"0x{Value:x}";
}
