namespace Hypervisor.GuestModel.Scenarios;

/// <summary>The kebab-case spelling of an enum's members in scenario files (<c>OnFailure</c> is <c>on-failure</c>).</summary>
internal static class KebabNames<TEnum>
    where TEnum : struct, Enum
{
    /// <summary>Every member, in declaration order, with its scenario-file name.</summary>
    public static IReadOnlyList<(string Name, TEnum Value)> All { get; } =
        [.. System.Enum.GetValues<TEnum>().Select(v => (Names.Kebab(v.ToString()), v))];

    /// <summary>The scenario-file name of <paramref name="value"/>.</summary>
    public static string Of(TEnum value) => All.First(p => EqualityComparer<TEnum>.Default.Equals(p.Value, value)).Name;
}
