namespace Hypervisor.HostMemory.Migration;

/// <summary>What a batch of migrations did.</summary>
/// <param name="Attempted">Pages picked and tried.</param>
/// <param name="Migrated">Pages moved to a new frame.</param>
/// <param name="Failed">Pages left where they were (busy, pinned, no memory, or nothing mapped where picked).</param>
public readonly record struct MigrationResult(int Attempted, int Migrated, int Failed);
