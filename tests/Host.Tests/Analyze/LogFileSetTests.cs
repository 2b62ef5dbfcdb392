using Hypervisor.Host.Analyze.Input;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>Which files a set of LOG arguments stands for.</summary>
public sealed class LogFileSetTests
{
    [Test]
    public void A_file_named_twice_or_reached_through_its_directory_is_read_once()
    {
        var directory = Directory.CreateTempSubdirectory("hv-logset-");
        try
        {
            var a = Path.Combine(directory.FullName, "a.jsonl");
            var b = Path.Combine(directory.FullName, "b.jsonl");
            File.WriteAllText(a, "{}\n");
            File.WriteAllText(b, "{}\n");
            var other = Path.Combine(directory.FullName, ".", "a.jsonl");

            var files = LogFileSet.Expand([a, a, other, directory.FullName]);

            Assert.That(files, Is.EqualTo(new[] { a, b }), "a once (first place), then b from the directory");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
