using System.Runtime.CompilerServices;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>Why a guest walk failed: the #PF error code the hypervisor injects.</summary>
public enum GuestFaultKind : byte
{
    None,
    /// <summary>A gpte on the path is not present (PFERR_PRESENT clear).</summary>
    NotPresent,
    /// <summary>A write through a path that does not allow writes (PFERR_PRESENT | PFERR_WRITE).</summary>
    WriteProtect,
}

/// <summary>
/// The result of <c>FNAME(walk_addr_generic)</c>: per level the guest table's gfn (<c>table_gfn[]</c>) and the gpte
/// read there (<c>ptes[]</c>), the access allowed above each level (<c>pt_access[]</c>), and the translation.
/// Index i holds level i + 1.
/// </summary>
public struct GuestWalk
{
    internal WalkLevels TableGfn;
    internal WalkLevels Gptes;

    /// <summary>Bit i: the gptes of levels 4 down to i + 1 all allow writes (<c>pt_access</c>, W only).</summary>
    internal int WritableAbove;

    /// <summary>The guest frame the walk translated to.</summary>
    public ulong Gfn { readonly get; internal set; }

    /// <summary>The leaf's access: writable only if every level allows it (<c>pte_access</c>).</summary>
    public bool Writable { readonly get; internal set; }

    public GuestFaultKind Fault { readonly get; internal set; }

    /// <summary>The level at which the walk stopped on a fault.</summary>
    public int FaultLevel { readonly get; internal set; }

    /// <summary>The guest table read at <paramref name="level"/> (<c>table_gfn[level - 1]</c>).</summary>
    public readonly ulong TableGfnAt(int level) => TableGfn[level - 1];

    /// <summary>The gpte read at <paramref name="level"/>.</summary>
    public readonly ulong GpteAt(int level) => Gptes[level - 1];

    /// <summary>True if the gptes of levels 4 down to <paramref name="level"/> all allow writes.</summary>
    public readonly bool WritableFrom(int level) => (WritableAbove & (1 << (level - 1))) != 0;

    [InlineArray(Gpte.Levels)]
    internal struct WalkLevels
    {
        private ulong _element;
    }
}

/// <summary><c>FNAME(walk_addr)</c> for a 4-level guest: the guest walk the shadow fault path starts with.</summary>
public static class GuestWalker
{
    /// <summary>
    /// Walks the guest tables rooted at <paramref name="cr3Gfn"/> for guest virtual page <paramref name="gvpn"/>,
    /// without the MMU lock (the kernel reads gptes with <c>__get_user</c>), checking permissions at each level. A
    /// failed walk is a guest page fault to inject; the caller must not touch the shadow tables for it.
    /// </summary>
    public static GuestWalk Walk(GuestTableMemory memory, ulong cr3Gfn, ulong gvpn, bool write)
    {
        var walk = new GuestWalk();
        var table = cr3Gfn;
        var writable = true;
        for (var level = Gpte.Levels; level >= 1; level--)
        {
            var gpte = memory.Read(table, Gpte.IndexOf(gvpn, level));
            walk.TableGfn[level - 1] = table;
            walk.Gptes[level - 1] = gpte;
            if (!Gpte.IsPresent(gpte))
            {
                walk.Fault = GuestFaultKind.NotPresent;
                walk.FaultLevel = level;
                return walk;
            }

            if (Gpte.GfnOf(gpte) >= memory.Pages)
            {
                // A frame beyond guest memory (beyond MAXPHYADDR in hardware): a reserved-bit fault.
                walk.Fault = GuestFaultKind.NotPresent;
                walk.FaultLevel = level;
                return walk;
            }

            writable &= Gpte.IsWritable(gpte);
            if (writable)
            {
                walk.WritableAbove |= 1 << (level - 1);
            }

            table = Gpte.GfnOf(gpte);
        }

        walk.Gfn = table;
        walk.Writable = writable;
        if (write && !writable)
        {
            walk.Fault = GuestFaultKind.WriteProtect;
            walk.FaultLevel = 1;
        }

        return walk;
    }
}
