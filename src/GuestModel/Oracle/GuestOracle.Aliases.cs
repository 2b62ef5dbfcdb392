namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// Aliased memslots: the oracle keeps one expectation per host page, under the page of the aliased slot (the
/// canonical page), and every entry point maps the gfn it is given onto it, so a write through one gfn is what a read
/// through the other must see, and the owner of a page is the owner of its canonical page.
/// </summary>
public sealed partial class GuestOracle
{
    private readonly PageAlias[] _aliases;

    /// <summary>The canonical page of <paramref name="page"/>: itself unless an aliasing slot holds it.</summary>
    public long Canonical(long page)
    {
        foreach (var alias in _aliases)
        {
            if (alias.Contains(page))
            {
                return page - alias.First + alias.Target;
            }
        }

        return page;
    }

    /// <summary>
    /// The gfn a write by <paramref name="vcpu"/> goes to: the page it owns nearest <paramref name="page"/>, reached
    /// through the same alias as <paramref name="page"/> when that alias maps it (else through the canonical gfn).
    /// </summary>
    public long OwnedPageNear(long page, int vcpu)
    {
        var canonical = Canonical(page);
        var owned = canonical - (canonical % _vcpus) + vcpu;
        owned = owned < _expected.Length ? owned : owned - _vcpus;
        if (canonical == page)
        {
            return owned;
        }

        foreach (var alias in _aliases)
        {
            if (alias.Contains(page))
            {
                var back = owned - alias.Target + alias.First;
                return alias.Contains(back) ? back : owned;
            }
        }

        return owned;
    }
}
