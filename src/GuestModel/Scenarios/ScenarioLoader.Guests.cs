using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Guests, their memory slots and per-vCPU workloads.</summary>
public sealed partial class ScenarioLoader
{
    private static List<GuestSpec> ReadGuests(ParameterReader reader, HostSpec? host)
    {
        var guests = new List<GuestSpec>();
        var before = reader.ErrorCount;
        var readers = reader.MappingList("guests");
        if (readers is null)
        {
            if (!reader.Has("guests"))
            {
                reader.Error("guests", "missing required field (a scenario needs at least one guest)");
            }

            return guests;
        }

        if (readers.Count == 0 && reader.ErrorCount == before)
        {
            reader.Error("guests", "expected at least one guest, got an empty list");
        }

        var firstLineOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var guestReader in readers)
        {
            var guest = ReadGuest(guestReader);
            CheckAddressSpaceOf(guestReader, guest, guests);
            if (guest.Name.Length > 0 && !firstLineOfName.TryAdd(guest.Name, guestReader.Line))
            {
                guestReader.Error("name", $"duplicate guest name \"{guest.Name}\" (first defined at line {firstLineOfName[guest.Name]})");
            }

            guests.Add(guest);
        }

        var total = guests.Sum(g => g.Memory);
        if (host is not null && total > host.Ram + host.Swap)
        {
            reader.Error("guests", $"expected guest memory the host can back, got {ScenarioUnits.FormatSize(total)} in total " +
                $"(sum over {guests.Count} guests) but host ram {ScenarioUnits.FormatSize(host.Ram)} + swap " +
                $"{ScenarioUnits.FormatSize(host.Swap)} = {ScenarioUnits.FormatSize(host.Ram + host.Swap)}");
        }
        else if (host is not null && ScenarioLimits.CheckTables(host.Ram, host.Swap, total) is { } expected)
        {
            // Each limit alone passed; together the frame table and the guests' tables would not fit this machine.
            reader.Error("host", $"expected {expected}");
        }

        return guests;
    }

    /// <summary><c>addressSpaceOf</c> names a guest declared before this one that has a VMM process of its own.</summary>
    private static void CheckAddressSpaceOf(ParameterReader reader, GuestSpec guest, List<GuestSpec> earlier)
    {
        if (guest.AddressSpaceOf is not { Length: > 0 } owner)
        {
            return;
        }

        var target = earlier.FirstOrDefault(g => g.Name == owner);
        if (target is null)
        {
            var names = earlier.Count == 0 ? "none is" : string.Join(", ", earlier.Select(g => g.Name));
            reader.Error("addressSpaceOf", $"expected the name of a guest declared before this one ({names}), got \"{owner}\"");
        }
        else if (target.AddressSpaceOf is { } chained)
        {
            reader.Error("addressSpaceOf", $"expected a guest with a VMM process of its own, got \"{owner}\", which lives in \"{chained}\"'s");
        }
    }

    private static GuestSpec ReadGuest(ParameterReader reader)
    {
        var name = reader.RequiredName("name");
        var memory = reader.RequiredSize("memory", SizeRules.PositivePages, ScenarioLimits.MaxHostRam + ScenarioLimits.MaxSwap);
        var vcpus = reader.RequiredInt("vcpus", 1, GuestSpec.MaxVcpus);
        var backing = reader.Enum("backing", VmaKind.AnonymousPrivate);
        var writeNotify = reader.Bool("writeNotify", true);
        var fileMapping = reader.Enum("fileMapping", FileMapping.PageCache);
        var addressSpaceOf = reader.Has("addressSpaceOf") ? reader.RequiredName("addressSpaceOf") : null;
        var memslots = ReadMemslots(reader, memory, backing);
        CheckFileMapping(reader, fileMapping, memslots);
        if (fileMapping == FileMapping.Nonlinear && writeNotify)
        {
            reader.Error("fileMapping", "expected writeNotify: false with fileMapping nonlinear (page_mkclean cannot clean a " +
                "nonlinear VMA, so remap_file_pages keeps dirty-accounted files linear), got writeNotify true");
        }
        var mmu = reader.Enum("mmu", MmuMode.Tdp);
        var thp = reader.Enum("thp", ThpMode.Never);
        var churn = reader.Double("pageTableChurn", GuestSpec.DefaultPageTableChurn, 0, 1);
        if (mmu != MmuMode.Shadow && reader.Has("pageTableChurn"))
        {
            reader.Error("pageTableChurn", "pageTableChurn applies only to mmu shadow (a TDP guest's page tables are not modelled), but mmu is tdp");
        }

        CheckAliasesNeedTdp(reader, mmu, memslots);
        var tlbEntries = reader.Int("tlbEntries", GuestSpec.DefaultTlbEntries, 1, GuestSpec.MaxTlbEntries);
        if ((tlbEntries & (tlbEntries - 1)) != 0)
        {
            reader.Error("tlbEntries", $"expected a power of two (the vCPU TLB is indexed by the low gfn bits), got {tlbEntries}");
        }

        var workload = ReadWorkload(reader.Mapping("workload"), memory);
        var vcpuWorkloads = ReadVcpuWorkloads(reader, vcpus, memory);
        reader.ReportUnknownKeys(ScenarioFields.Guest);
        return new GuestSpec
        {
            Name = name,
            Memory = memory,
            Vcpus = vcpus,
            Backing = backing,
            WriteNotify = writeNotify,
            FileMapping = fileMapping,
            Mmu = mmu,
            Thp = thp,
            PageTableChurn = churn,
            TlbEntries = tlbEntries,
            Memslots = memslots,
            Workload = workload,
            VcpuWorkloads = vcpuWorkloads.AsReadOnly(),
            AddressSpaceOf = addressSpaceOf,
        };
    }

    /// <summary>An <c>xip</c> or <c>nonlinear</c> file mapping needs a file slot to apply to (a shared one for nonlinear).</summary>
    private static void CheckFileMapping(ParameterReader reader, FileMapping fileMapping, IReadOnlyList<MemslotSpec> memslots)
    {
        if (memslots.Count == 0 || fileMapping == FileMapping.PageCache)
        {
            return;
        }

        var needed = fileMapping == FileMapping.Nonlinear ? [VmaKind.FileShared] : new[] { VmaKind.FilePrivate, VmaKind.FileShared };
        if (!memslots.Any(s => needed.Contains(s.Backing)))
        {
            reader.Error("fileMapping", $"expected a guest with a {string.Join(" or ", needed.Select(ScenarioFields.EnumValue))} " +
                $"memslot for fileMapping {ScenarioFields.EnumValue(fileMapping)}, got none");
        }
    }

    /// <summary>The slots of a guest, sorted by base; a guest memory of 0 (invalid, already reported) skips the range checks.</summary>
    private static IReadOnlyList<MemslotSpec> ReadMemslots(ParameterReader guest, long memory, VmaKind backing)
    {
        var before = guest.ErrorCount;
        var readers = guest.MappingList("memslots");
        if (readers is null)
        {
            return guest.Has("memslots") || memory == 0 ? [] : [new MemslotSpec { Base = 0, Size = memory, Backing = backing }];
        }

        if (readers.Count == 0 && guest.ErrorCount == before)
        {
            guest.Error("memslots", "expected at least one memslot (omit memslots for one slot over all memory), got an empty list");
        }

        var valid = new List<(MemslotSpec Slot, ParameterReader Reader, int Index)>();
        for (var i = 0; i < readers.Count; i++)
        {
            var reader = readers[i];
            var slotErrors = reader.ErrorCount;
            var slot = new MemslotSpec
            {
                Base = reader.OptionalSize("base", SizeRules.PageAligned) ?? RequiredMissing(reader, "base"),
                Size = reader.RequiredSize("size", SizeRules.PositivePages),
                ReadOnly = reader.Bool("readOnly", false),
                Backing = reader.Enum("backing", backing),
                AliasOf = reader.OptionalSize("aliasOf", SizeRules.PageAligned),
            };
            reader.ReportUnknownKeys(ScenarioFields.Memslot);
            if (reader.ErrorCount != slotErrors || memory == 0)
            {
                continue;
            }

            if (slot.Base >= memory)
            {
                reader.Error("base", $"expected a base inside guest memory of {ScenarioUnits.FormatSize(memory)}, got {ScenarioUnits.FormatSize(slot.Base)}");
            }
            else if (slot.End > memory)
            {
                reader.Error("size", $"expected the slot to end inside guest memory of {ScenarioUnits.FormatSize(memory)}, " +
                    $"got base {ScenarioUnits.FormatSize(slot.Base)} + size {ScenarioUnits.FormatSize(slot.Size)} = {ScenarioUnits.FormatSize(slot.End)}");
            }
            else
            {
                valid.Add((slot, reader, i));
            }
        }

        ReportOverlaps(valid);
        ResolveAliases(valid);
        return [.. valid.Select(v => v.Slot).OrderBy(s => s.Base)];
    }

    /// <summary>Reports each slot that overlaps one defined before it in the file, naming that one.</summary>
    private static void ReportOverlaps(List<(MemslotSpec Slot, ParameterReader Reader, int Index)> slots)
    {
        for (var later = 1; later < slots.Count; later++)
        {
            for (var earlier = 0; earlier < later; earlier++)
            {
                var (a, b) = (slots[earlier].Slot, slots[later].Slot);
                if (a.Base < b.End && b.Base < a.End)
                {
                    slots[later].Reader.Error(
                        $"expected memslots that do not overlap, got [{ScenarioUnits.FormatSize(b.Base)}, {ScenarioUnits.FormatSize(b.End)}) " +
                        $"overlapping memslots[{slots[earlier].Index}] [{ScenarioUnits.FormatSize(a.Base)}, {ScenarioUnits.FormatSize(a.End)})");
                    break;
                }
            }
        }
    }

    private static Dictionary<int, WorkloadSpec> ReadVcpuWorkloads(ParameterReader guest, int vcpus, long memory)
    {
        var overrides = new Dictionary<int, WorkloadSpec>();
        var firstLine = new Dictionary<int, int>();
        foreach (var reader in guest.MappingList("vcpuWorkloads") ?? [])
        {
            var before = reader.ErrorCount;
            var vcpu = reader.RequiredInt("vcpu", 0);
            var workload = ReadWorkload(reader.Mapping("workload", required: true), memory);
            reader.ReportUnknownKeys(ScenarioFields.VcpuWorkload);
            if (reader.ErrorCount != before)
            {
                continue;
            }

            if (vcpu >= vcpus)
            {
                reader.Error("vcpu", $"expected a vCPU index below vcpus ({vcpus}), got {vcpu}");
            }
            else if (!firstLine.TryAdd(vcpu, reader.Line))
            {
                reader.Error("vcpu", $"duplicate override for vCPU {vcpu} (first at line {firstLine[vcpu]})");
            }
            else
            {
                overrides.Add(vcpu, workload);
            }
        }

        return overrides;
    }

    private static long RequiredMissing(ParameterReader reader, string key)
    {
        if (!reader.Has(key))
        {
            reader.Error(key, "missing required field");
        }

        return 0;
    }
}
