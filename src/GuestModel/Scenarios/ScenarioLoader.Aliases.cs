using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Scenarios;

public sealed partial class ScenarioLoader
{
    /// <summary>
    /// Checks each aliasing slot (<see cref="MemslotSpec.AliasOf"/>) against the slot it names and gives it that slot's
    /// backing: the named slot must exist, map memory of its own and be at least as large; the alias cannot choose a
    /// backing of its own, since it maps the other slot's memory.
    /// </summary>
    private static void ResolveAliases(List<(MemslotSpec Slot, ParameterReader Reader, int Index)> slots)
    {
        for (var i = 0; i < slots.Count; i++)
        {
            var (slot, reader, _) = slots[i];
            if (slot.AliasOf is not { } target)
            {
                continue;
            }

            var aliased = slots.FirstOrDefault(s => s.Slot.Base == target && !ReferenceEquals(s.Slot, slot));
            if (aliased.Slot is null)
            {
                reader.Error("aliasOf", $"expected the base of another memslot of this guest, got {ScenarioUnits.FormatSize(target)} " +
                    $"(bases: {string.Join(", ", slots.Where(s => !ReferenceEquals(s.Slot, slot)).Select(s => ScenarioUnits.FormatSize(s.Slot.Base)))})");
            }
            else if (aliased.Slot.AliasOf is not null)
            {
                reader.Error("aliasOf", $"expected a memslot with memory of its own, got memslots[{aliased.Index}], itself an alias");
            }
            else if (aliased.Slot.Size < slot.Size)
            {
                reader.Error("size", $"expected an alias no larger than the slot it maps ({ScenarioUnits.FormatSize(aliased.Slot.Size)}), " +
                    $"got {ScenarioUnits.FormatSize(slot.Size)}");
            }
            else if (reader.Has("backing"))
            {
                reader.Error("backing", "expected no backing on an alias: it maps the memory of the slot it names, with that slot's backing");
            }
            else
            {
                slots[i] = (slot with { Backing = aliased.Slot.Backing }, reader, slots[i].Index);
            }
        }
    }

    /// <summary>Aliased memslots are a TDP feature here: a shadow guest kernel's page tables assume one frame per gfn.</summary>
    private static void CheckAliasesNeedTdp(ParameterReader reader, MmuMode mmu, IReadOnlyList<MemslotSpec> memslots)
    {
        if (mmu == MmuMode.Shadow && memslots.Any(s => s.AliasOf is not null))
        {
            reader.Error("mmu", "expected mmu tdp with aliased memslots (aliasOf), got shadow");
        }
    }
}
