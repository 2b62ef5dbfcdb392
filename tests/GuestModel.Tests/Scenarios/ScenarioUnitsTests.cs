using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

public class ScenarioUnitsTests
{
    [TestCase("4096", 4096L)]
    [TestCase("512MiB", 512L << 20)]
    [TestCase("1.5 GiB", 3L << 29)]
    [TestCase("2TiB", 2L << 40)]
    [TestCase("64KiB", 64L << 10)]
    [TestCase("10B", 10L)]
    [TestCase("-1GiB", -(1L << 30))]
    public void Sizes_parse_as_bytes_or_binary_units(string text, long bytes)
    {
        Assert.That(ScenarioUnits.TryParseSize(text, out var parsed, out var problem) ? parsed : long.MinValue, Is.EqualTo(bytes),
            $"{text} is a size ({problem})");
    }

    [TestCase("2GB", "write GiB")]
    [TestCase("512M", "write MiB")]
    [TestCase("4kb", "write KiB")]
    [TestCase("1mib", "write MiB")]
    [TestCase("3 parsecs", "unknown unit \"parsecs\"")]
    [TestCase("GiB", "not a number")]
    [TestCase("0.5B", "not a whole number of bytes")]
    [TestCase("99999999999TiB", "too large")]
    public void Ambiguous_or_unknown_size_units_are_refused_with_a_hint(string text, string hint)
    {
        Assert.Multiple(() =>
        {
            Assert.That(ScenarioUnits.TryParseSize(text, out _, out var problem), Is.False, $"{text} is not accepted");
            Assert.That(problem, Does.Contain(hint), "the problem tells how to fix it");
        });
    }

    [TestCase("500ms", 500.0)]
    [TestCase("2s", 2000.0)]
    [TestCase("1.5s", 1500.0)]
    [TestCase("3m", 180_000.0)]
    [TestCase("1h", 3_600_000.0)]
    public void Durations_parse_with_ms_s_m_h(string text, double milliseconds)
    {
        Assert.That(ScenarioUnits.TryParseDuration(text, out var parsed, out _) ? parsed.TotalMilliseconds : double.NaN,
            Is.EqualTo(milliseconds), $"{text} is a duration");
    }

    [TestCase("10", "a unit is required")]
    [TestCase("79228162514264337593543950335h", "too large")]
    [TestCase("10sec", "unknown unit \"sec\"")]
    public void Durations_need_a_known_unit(string text, string hint)
    {
        Assert.Multiple(() =>
        {
            Assert.That(ScenarioUnits.TryParseDuration(text, out _, out var problem), Is.False, $"{text} is not accepted");
            Assert.That(problem, Does.Contain(hint), "the problem says why");
        });
    }

    [Test]
    public void Sizes_and_durations_format_in_the_largest_exact_unit()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ScenarioUnits.FormatSize(3L << 30), Is.EqualTo("3GiB"), "whole GiB");
            Assert.That(ScenarioUnits.FormatSize(1536L << 20), Is.EqualTo("1536MiB"), "not a whole GiB");
            Assert.That(ScenarioUnits.FormatSize(4097), Is.EqualTo("4097B"), "bytes");
            Assert.That(ScenarioUnits.FormatSize(0), Is.EqualTo("0B"), "zero");
            Assert.That(ScenarioUnits.FormatDuration(TimeSpan.FromMilliseconds(1500)), Is.EqualTo("1500ms"), "not whole seconds");
            Assert.That(ScenarioUnits.FormatDuration(TimeSpan.FromMinutes(2)), Is.EqualTo("2m"), "whole minutes");
        });
    }
}
