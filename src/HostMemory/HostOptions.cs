namespace Hypervisor.HostMemory;

/// <summary>Size and behaviour of a simulated host.</summary>
public sealed record HostOptions
{
    /// <summary>Host RAM in bytes (rounded down to whole 4 KiB frames).</summary>
    public long RamBytes { get; init; } = 1L << 30;

    /// <summary>Swap device size in bytes.</summary>
    public long SwapBytes { get; init; }

    /// <summary>Broken variants of the primary side, for oracle tests. <see cref="HostMutations.None"/> normally.</summary>
    public HostMutations Mutations { get; init; }

    /// <summary>Model CPUs that lockless walkers run on with interrupts off (<see cref="Cpus.HostCpus"/>).</summary>
    public int Cpus { get; init; } = 8;

    /// <summary>How freed page tables are kept from lockless walkers (<see cref="PageTables.TableFreeScheme"/>).</summary>
    public PageTables.TableFreeScheme TableFree { get; init; } = PageTables.TableFreeScheme.Ipi;

    /// <summary>
    /// Every this many lockless walks, the walker is held up inside its IRQ-off section, between reading the PMD and
    /// reading the PTE (an NMI, or the host's own vCPU descheduled by its hypervisor): the window the table-free schemes
    /// exist for, made to happen at a known rate. 0 never.
    /// </summary>
    public int LocklessWalkDelayEvery { get; init; }
}
