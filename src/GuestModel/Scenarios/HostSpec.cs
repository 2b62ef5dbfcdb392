using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>The simulated host of a scenario (key <c>host</c>).</summary>
public sealed record HostSpec
{
    /// <summary>Host RAM in bytes; a positive multiple of <see cref="ScenarioUnits.PageSize"/>.</summary>
    public required long Ram { get; init; }

    /// <summary>Swap in bytes; a multiple of <see cref="ScenarioUnits.PageSize"/>, 0 for none.</summary>
    public long Swap { get; init; }

    /// <summary>Which MMU notifier API the host speaks to the secondary MMU.</summary>
    public NotifierProfile NotifierProfile { get; init; } = NotifierProfile.Modern;

    /// <summary>Model CPUs that lockless page-table walkers run on with interrupts off.</summary>
    public int Cpus { get; init; } = 8;

    /// <summary>How freed page tables are kept from lockless walkers.</summary>
    public TableFreeScheme TableFree { get; init; } = TableFreeScheme.Ipi;

    /// <summary>KVM's fault path tries <c>gup_fast</c> first and walks the host level (<c>host_pfn_mapping_level</c>).</summary>
    public bool GupFast { get; init; }

    /// <summary>Every this many lockless walks one is held up inside its IRQ-off section; 0 never.</summary>
    public int WalkerDelayEvery { get; init; }
}
