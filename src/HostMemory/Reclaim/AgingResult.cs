namespace Hypervisor.HostMemory.Reclaim;

/// <summary>What one aging pass saw.</summary>
/// <param name="Scanned">Mapped pages aged (the zero page is never aged).</param>
/// <param name="Young">Pages found young, by the CPU accessed bit or by a secondary MMU.</param>
/// <param name="YoungFromSecondary">Pages young only because a secondary MMU said so.</param>
/// <param name="Contended">Pages skipped because their page lock or rmap lock was busy.</param>
public readonly record struct AgingResult(long Scanned, long Young, long YoungFromSecondary, int Contended)
{
    public long Cold => Scanned - Young;
}
