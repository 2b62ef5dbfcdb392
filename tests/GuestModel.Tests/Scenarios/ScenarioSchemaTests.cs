using System.Text.Json;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>
/// <c>config/scenario.schema.json</c> (for editors) and <c>docs/scenarios.md</c> (for people) describe exactly what the
/// loader accepts: the same fields per section, the same enum values and the same activity kinds and parameters.
/// </summary>
public class ScenarioSchemaTests
{
    private static readonly ActivityKindRegistry Registry = ActivityKindRegistry.CreateDefault();

    private static JsonElement Schema => JsonDocument.Parse(File.ReadAllText(RepoPaths.SchemaFile)).RootElement;

    private static JsonElement Defs => Schema.GetProperty("$defs");

    public static IEnumerable<TestCaseData> Sections()
    {
        yield return Section("top level", ScenarioFields.TopLevel, s => s);
        yield return Section("host", ScenarioFields.Host, s => s.GetProperty("$defs").GetProperty("host"));
        yield return Section("guest", ScenarioFields.Guest, s => s.GetProperty("$defs").GetProperty("guest"));
        yield return Section("memslot", ScenarioFields.Memslot, s => s.GetProperty("$defs").GetProperty("memslot"));
        yield return Section("workload", ScenarioFields.Workload, s => s.GetProperty("$defs").GetProperty("workload"));
        yield return Section("phase", ScenarioFields.Phase, s => s.GetProperty("$defs").GetProperty("phase"));
        yield return Section("vcpuWorkload", ScenarioFields.VcpuWorkload, s => s.GetProperty("$defs").GetProperty("vcpuWorkload"));
        yield return Section("deterministic", ScenarioFields.Deterministic, s => s.GetProperty("$defs").GetProperty("deterministic"));

        static TestCaseData Section(string name, IReadOnlyList<string> fields, Func<JsonElement, JsonElement> select) =>
            new TestCaseData(fields, select).SetArgDisplayNames(name);
    }

    public static IEnumerable<TestCaseData> Kinds() => Registry.Kinds.Select(k => new TestCaseData(k).SetArgDisplayNames(k.Name));

    [Test]
    public void The_schema_is_json_of_draft_2020_12_and_closed_at_the_top()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Schema.GetProperty("$schema").GetString(), Is.EqualTo("https://json-schema.org/draft/2020-12/schema"), "draft 2020-12");
            Assert.That(Schema.GetProperty("additionalProperties").GetBoolean(), Is.False, "unknown top-level keys are flagged in editors too");
        });
    }

    [TestCaseSource(nameof(Sections))]
    public void Each_section_of_the_schema_lists_exactly_the_fields_the_loader_accepts(IReadOnlyList<string> fields, Func<JsonElement, JsonElement> select)
    {
        var section = select(Schema);
        Assert.Multiple(() =>
        {
            Assert.That(PropertyNames(section), Is.EquivalentTo(fields), "the schema and ScenarioFields agree");
            Assert.That(section.GetProperty("additionalProperties").GetBoolean(), Is.False, "the section is closed, like the loader");
        });
    }

    [Test]
    public void The_schema_enumerates_the_values_the_loader_accepts()
    {
        Assert.Multiple(() =>
        {
            Assert.That(EnumOf(Defs.GetProperty("workload").GetProperty("properties").GetProperty("pattern")),
                Is.EqualTo(ScenarioFields.EnumValues<AccessPattern>()), "patterns");
            Assert.That(EnumOf(Defs.GetProperty("phase").GetProperty("properties").GetProperty("pattern")),
                Is.EqualTo(ScenarioFields.EnumValues<AccessPattern>().Where(p => p != "phased")), "patterns of a phase: no nesting");
            Assert.That(EnumOf(Defs.GetProperty("backing")), Is.EqualTo(ScenarioFields.EnumValues<VmaKind>()), "backings");
            Assert.That(EnumOf(Defs.GetProperty("host").GetProperty("properties").GetProperty("notifierProfile")),
                Is.EqualTo(ScenarioFields.EnumValues<NotifierProfile>()), "notifier profiles");
            Assert.That(EnumOf(Schema.GetProperty("properties").GetProperty("restart")),
                Is.EqualTo(ScenarioFields.EnumValues<RestartPolicy>()), "restart policies");
            Assert.That(EnumOf(Defs.GetProperty("guest").GetProperty("properties").GetProperty("mmu")),
                Is.EqualTo(ScenarioFields.EnumValues<MmuMode>()), "MMU modes");
            Assert.That(EnumOf(Defs.GetProperty("deterministic").GetProperty("properties").GetProperty("strategy")),
                Is.EqualTo(ScenarioFields.EnumValues<DeterministicStrategy>()), "deterministic strategies");
        });
    }

    [Test]
    public void The_schema_lists_every_registered_activity_kind_and_no_other()
    {
        var activity = Defs.GetProperty("activity");
        var branches = activity.GetProperty("oneOf").EnumerateArray().Select(Resolve)
            .Select(b => b.GetProperty("properties").GetProperty("kind").GetProperty("const").GetString());
        Assert.Multiple(() =>
        {
            Assert.That(branches, Is.EqualTo(Registry.Names), "one oneOf branch per kind, in registry order");
            Assert.That(EnumOf(activity.GetProperty("properties").GetProperty("kind")), Is.EqualTo(Registry.Names),
                "the kind enum gives editors a completion list");
        });
    }

    [TestCaseSource(nameof(Kinds))]
    public void An_activity_kind_s_schema_branch_lists_the_common_fields_and_its_parameters(IActivityKind kind)
    {
        var branch = Defs.GetProperty("activity-" + kind.Name);
        var expected = ScenarioFields.Activity.Concat(ActivityKindRegistry.ParameterNames(kind));
        Assert.Multiple(() =>
        {
            Assert.That(PropertyNames(branch), Is.EquivalentTo(expected), "the branch accepts what the kind's parser asks for");
            Assert.That(branch.GetProperty("additionalProperties").GetBoolean(), Is.False, "a misspelt parameter is flagged");
        });
    }

    [Test]
    public void The_documentation_mentions_every_field_value_kind_and_parameter()
    {
        var docs = File.ReadAllText(RepoPaths.DocsFile);
        var names = ScenarioFields.TopLevel.Concat(ScenarioFields.Host).Concat(ScenarioFields.Guest).Concat(ScenarioFields.Memslot)
            .Concat(ScenarioFields.Phase).Concat(ScenarioFields.Workload).Concat(ScenarioFields.VcpuWorkload).Concat(ScenarioFields.Activity)
            .Concat(ScenarioFields.Deterministic).Concat(ScenarioFields.EnumValues<DeterministicStrategy>())
            .Concat(ScenarioFields.EnumValues<AccessPattern>()).Concat(ScenarioFields.EnumValues<VmaKind>())
            .Concat(ScenarioFields.EnumValues<NotifierProfile>()).Concat(ScenarioFields.EnumValues<RestartPolicy>())
            .Concat(ScenarioFields.EnumValues<MmuMode>())
            .Concat(Registry.Kinds.SelectMany(k => ActivityKindRegistry.ParameterNames(k).Prepend(k.Name)))
            .Distinct();
        Assert.That(names.Where(n => !docs.Contains($"`{n}`", StringComparison.Ordinal)), Is.Empty,
            "docs/scenarios.md names each of these in backticks");
    }

    [Test]
    public void The_full_example_in_the_documentation_loads()
    {
        var docs = File.ReadAllText(RepoPaths.DocsFile);
        var start = docs.IndexOf("## A full example", StringComparison.Ordinal);
        var yamlStart = docs.IndexOf("```yaml\n", start, StringComparison.Ordinal) + "```yaml\n".Length;
        var yaml = docs[yamlStart..docs.IndexOf("```", yamlStart, StringComparison.Ordinal)];
        var result = ScenarioLoader.Default.LoadText(yaml, "docs/scenarios.md example");
        Assert.That(result.Errors, Is.Empty, "the documented example is valid: " + result);
        Assert.That(result.Scenario!.Activities.Select(a => a.Kind).Distinct(), Is.EquivalentTo(Registry.Names),
            "it shows every activity kind");
    }

    private static IEnumerable<string> PropertyNames(JsonElement section) =>
        section.GetProperty("properties").EnumerateObject().Select(p => p.Name);

    private static IEnumerable<string?> EnumOf(JsonElement element) =>
        Resolve(element).GetProperty("enum").EnumerateArray().Select(e => e.GetString());

    private static JsonElement Resolve(JsonElement element) =>
        element.TryGetProperty("$ref", out var reference)
            ? Defs.GetProperty(reference.GetString()!["#/$defs/".Length..])
            : element;
}
