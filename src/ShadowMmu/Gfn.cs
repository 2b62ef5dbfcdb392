namespace Hypervisor.ShadowMmu;

/// <summary>A guest frame number: guest-physical address &gt;&gt; 12.</summary>
public readonly record struct Gfn(ulong Value)
{
    public override string ToString() => $"gfn 0x{Value:x}";
}
