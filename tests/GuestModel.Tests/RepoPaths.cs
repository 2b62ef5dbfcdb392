using System.Runtime.CompilerServices;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests;

/// <summary>Files of the repository, found by walking up from the test directory to <c>Hypervisor.sln</c>.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string ScenarioDirectory => Path.Combine(Root, "config", "scenarios");

    public static string SchemaFile => Path.Combine(Root, "config", "scenario.schema.json");

    public static string DocsFile => Path.Combine(Root, "docs", "scenarios.md");

    public static string MalformedDirectory => Path.Combine(Root, "tests", "GuestModel.Tests", "Scenarios", "Malformed");

    /// <summary>
    /// Walks up from the test binaries; when they were built elsewhere (<c>--artifacts-path</c>), walks up from this
    /// source file instead, whose path the compiler recorded.
    /// </summary>
    private static string FindRoot() =>
        FindAbove(TestContext.CurrentContext.TestDirectory)
        ?? FindAbove(Path.GetDirectoryName(SourceFile()))
        ?? throw new InvalidOperationException(
            $"Hypervisor.sln not found above {TestContext.CurrentContext.TestDirectory} nor above {SourceFile()}");

    private static string? FindAbove(string? start)
    {
        for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hypervisor.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
