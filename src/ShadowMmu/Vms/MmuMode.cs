namespace Hypervisor.ShadowMmu.Vms;

/// <summary>The secondary MMU's translation scheme, per VM.</summary>
public enum MmuMode
{
    /// <summary>Two-dimensional paging (EPT/NPT): the hypervisor maps gfn to pfn; the guest's tables are the hardware's business.</summary>
    Tdp,

    /// <summary>Classic shadow paging: the hypervisor walks the guest's page tables and maps guest virtual pages straight to host frames.</summary>
    Shadow,
}
