namespace Hypervisor.HostMemory.Notifiers;

/// <summary>Which notifier API the primary MMU speaks, chosen per address space.</summary>
public enum NotifierProfile : byte
{
    /// <summary>
    /// Range start/end only, with an event kind and a blockable flag (the API since v5.2, without
    /// <c>invalidate_page</c>, which was removed in v4.13).
    /// </summary>
    Modern,

    /// <summary>
    /// The 2008 API: single-page call sites (COW, unmap-one, mkclean) call <c>InvalidatePage</c> after the PTE
    /// change, outside the page-table lock, before the page is freed; range operations use start/end.
    /// </summary>
    Legacy2008,
}
