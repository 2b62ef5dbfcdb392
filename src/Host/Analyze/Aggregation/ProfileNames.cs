namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>Notifier profile names as the log contract spells them (<c>modern</c>, <c>legacy2008</c>), whatever the casing logged.</summary>
internal static class ProfileNames
{
    public const string Modern = "modern";
    public const string Legacy2008 = "legacy2008";

    /// <summary>Lower-cases a profile name (so <c>Legacy2008</c> and <c>legacy2008</c> are one profile); null or empty is <see cref="InvalidationRecord.Missing"/>.</summary>
    public static string Normalize(string? profile) => string.IsNullOrEmpty(profile)
        ? InvalidationRecord.Missing
        : profile switch
        {
            Modern or Legacy2008 => profile,
            _ => profile.ToLowerInvariant(),
        };
}
