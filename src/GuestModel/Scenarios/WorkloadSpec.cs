namespace Hypervisor.GuestModel.Scenarios;

/// <summary>What a vCPU does with guest memory (key <c>workload</c>). Sizes are bytes, multiples of the page size.</summary>
public sealed record WorkloadSpec
{
    /// <summary>Default of <see cref="WriteRatio"/>.</summary>
    public const double DefaultWriteRatio = 0.3;

    /// <summary>Default of <see cref="ZipfExponent"/>.</summary>
    public const double DefaultZipfExponent = 1.0;

    /// <summary>How the next page is chosen.</summary>
    public AccessPattern Pattern { get; init; } = AccessPattern.Uniform;

    /// <summary>Share of accesses that are writes, in [0, 1].</summary>
    public double WriteRatio { get; init; } = DefaultWriteRatio;

    /// <summary>
    /// Bytes of guest memory the workload touches, starting at <see cref="WorkingSetOffset"/>; <see langword="null"/>
    /// means everything from the offset to the end of guest memory (the loader always fills it in).
    /// </summary>
    public long? WorkingSet { get; init; }

    /// <summary>Guest-physical byte offset where the working set starts.</summary>
    public long WorkingSetOffset { get; init; }

    /// <summary>Zipf exponent <c>s</c> (&gt; 0) of <see cref="AccessPattern.Zipf"/>: larger is more skewed.</summary>
    public double ZipfExponent { get; init; } = DefaultZipfExponent;

    /// <summary>Distance in bytes between consecutive accesses of <see cref="AccessPattern.Stride"/>.</summary>
    public long Stride { get; init; } = ScenarioUnits.PageSize;

    /// <summary>Share of writes, in [0, 1], that store a value common to many pages, so KSM can merge them.</summary>
    public double DuplicateRatio { get; init; }

    /// <summary>The phases of a <see cref="AccessPattern.Phased"/> workload, cycled in order; empty otherwise.</summary>
    public IReadOnlyList<WorkloadPhase> Phases { get; init; } = [];

    /// <summary>Value equality, phases compared element by element (a record alone would compare the list reference).</summary>
    public bool Equals(WorkloadSpec? other) =>
        other is not null && Pattern == other.Pattern && WriteRatio.Equals(other.WriteRatio) && WorkingSet == other.WorkingSet
        && WorkingSetOffset == other.WorkingSetOffset && ZipfExponent.Equals(other.ZipfExponent) && Stride == other.Stride
        && DuplicateRatio.Equals(other.DuplicateRatio) && Phases.SequenceEqual(other.Phases);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(Pattern, WriteRatio, WorkingSet, WorkingSetOffset, ZipfExponent, Stride, DuplicateRatio, Phases.Count);
}
