namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// Guest pages [<paramref name="First"/>, <paramref name="End"/>) of an aliasing memslot, which map the host memory of
/// the pages starting at <paramref name="Target"/>: a write through either gfn is read through both.
/// </summary>
public readonly record struct PageAlias(long First, long End, long Target)
{
    public bool Contains(long page) => page >= First && page < End;
}
