namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// <c>union kvm_mmu_page_role</c>, the parts a 4-level guest without PAE, SMM or nesting needs: the level of the
/// guest table a shadow page shadows, and the access the guest entries above it allow (<c>role.access</c>, here
/// only W). One guest table reached through a writable and through a read-only upper entry is shadowed by two
/// shadow pages. Neither <c>direct</c> (no guest huge pages) nor <c>quadrant</c> (no 32-bit guests) exists here.
/// </summary>
public readonly record struct ShadowRole(int Level, bool Writable)
{
    /// <summary>The role packed into an int (<c>role.word</c>), the second half of the hash key.</summary>
    public int Word => (Level << 1) | (Writable ? 1 : 0);

    public override string ToString() => $"level {Level}{(Writable ? "" : " ro")}";
}
