namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Workloads and the phases of phased workloads.</summary>
public sealed partial class ScenarioLoader
{
    /// <summary>Keys a phased workload refuses at its own level: they belong on each phase.</summary>
    private static readonly string[] PerPhaseKeys = ["writeRatio", "workingSet", "workingSetOffset", "duplicateRatio"];

    /// <summary>Reads a <c>workload</c> mapping; absent means the default workload over all guest memory.</summary>
    /// <param name="reader">The mapping, or <see langword="null"/> when absent (or not a mapping, already reported).</param>
    /// <param name="memory">Guest memory in bytes; 0 when invalid, which skips the range checks.</param>
    private static WorkloadSpec ReadWorkload(ParameterReader? reader, long memory)
    {
        if (reader is null)
        {
            return new WorkloadSpec { WorkingSet = memory > 0 ? memory : null };
        }

        var workload = ReadWorkloadFields(reader, memory, insidePhase: false);
        var phases = ReadPhases(reader, workload.Pattern, memory);
        reader.ReportUnknownKeys(ScenarioFields.Workload);
        return workload with { Phases = [.. phases] };
    }

    private static List<WorkloadPhase> ReadPhases(ParameterReader workload, AccessPattern pattern, long memory)
    {
        var before = workload.ErrorCount;
        var readers = workload.MappingList("phases");
        if (pattern != AccessPattern.Phased)
        {
            if (workload.Has("phases"))
            {
                workload.Error("phases", $"phases apply only to pattern phased, but the pattern is {Kebab(pattern)}");
            }

            return [];
        }

        if (readers is null)
        {
            if (!workload.Has("phases"))
            {
                workload.Error("phases", "missing required field for pattern phased (a list of workloads, each with accesses)");
            }

            return [];
        }

        if (readers.Count == 0 && workload.ErrorCount == before)
        {
            workload.Error("phases", "expected at least one phase, got an empty list");
        }

        var phases = new List<WorkloadPhase>(readers.Count);
        foreach (var reader in readers)
        {
            var phase = ReadWorkloadFields(reader, memory, insidePhase: true);
            var accesses = reader.RequiredLong("accesses", min: 1);
            reader.ReportUnknownKeys(ScenarioFields.Phase);
            phases.Add(new WorkloadPhase { Workload = phase, Accesses = accesses });
        }

        return phases;
    }

    /// <summary>The fields a workload and a phase share; checks the ones tied to a pattern and the working-set range.</summary>
    private static WorkloadSpec ReadWorkloadFields(ParameterReader reader, long memory, bool insidePhase)
    {
        var pattern = reader.Enum("pattern", AccessPattern.Uniform);
        if (insidePhase && pattern == AccessPattern.Phased)
        {
            reader.Error("pattern", "expected a pattern other than phased (phases do not nest), got phased");
        }

        var writeRatio = reader.Double("writeRatio", WorkloadSpec.DefaultWriteRatio, 0, 1);
        var offset = reader.Size("workingSetOffset", 0, SizeRules.PageAligned);
        var workingSet = reader.OptionalSize("workingSet", SizeRules.PositivePages);
        var zipfExponent = reader.Double("zipfExponent", WorkloadSpec.DefaultZipfExponent, 0, minExclusive: true);
        var stride = reader.Size("stride", ScenarioUnits.PageSize, SizeRules.PositivePages);
        var duplicateRatio = reader.Double("duplicateRatio", 0, 0, 1);

        RefuseUnlessPattern(reader, "zipfExponent", pattern, AccessPattern.Zipf);
        RefuseUnlessPattern(reader, "stride", pattern, AccessPattern.Stride);
        if (pattern == AccessPattern.Phased)
        {
            foreach (var key in PerPhaseKeys.Where(reader.Has))
            {
                reader.Error(key, "a phased workload takes only pattern and phases; set this on each phase");
            }
        }

        if (memory > 0 && pattern != AccessPattern.Phased)
        {
            if (offset >= memory)
            {
                reader.Error("workingSetOffset", $"expected an offset inside guest memory of {ScenarioUnits.FormatSize(memory)}, " +
                    $"got {ScenarioUnits.FormatSize(offset)}");
                offset = 0;
            }
            else if (workingSet > memory - offset)
            {
                reader.Error("workingSet", $"expected at most {ScenarioUnits.FormatSize(memory - offset)} (guest memory " +
                    $"{ScenarioUnits.FormatSize(memory)} from workingSetOffset {ScenarioUnits.FormatSize(offset)}), " +
                    $"got {ScenarioUnits.FormatSize(workingSet.Value)}");
            }
        }

        return new WorkloadSpec
        {
            Pattern = pattern,
            WriteRatio = writeRatio,
            WorkingSet = pattern == AccessPattern.Phased || memory == 0 ? workingSet : workingSet ?? memory - offset,
            WorkingSetOffset = offset,
            ZipfExponent = zipfExponent,
            Stride = stride,
            DuplicateRatio = duplicateRatio,
        };
    }

    private static void RefuseUnlessPattern(ParameterReader reader, string key, AccessPattern actual, AccessPattern required)
    {
        if (actual != required && reader.Has(key))
        {
            reader.Error(key, $"{key} applies only to pattern {Kebab(required)}, but the pattern is {Kebab(actual)}");
        }
    }

    private static string Kebab(AccessPattern pattern) => KebabNames<AccessPattern>.Of(pattern);
}
