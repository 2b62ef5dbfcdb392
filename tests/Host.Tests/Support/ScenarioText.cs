namespace Hypervisor.Host.Tests.Support;

/// <summary>Small scenario files for daemon tests, written into a test's own directory.</summary>
internal static class ScenarioText
{
    /// <summary>A two-second scenario with one guest and invalidating activities; <paramref name="restart"/> as given.</summary>
    public static string Tiny(string name, string restart = "never", string duration = "2s") => $"""
        name: {name}
        seed: 3
        duration: {duration}
        statsInterval: 500ms
        restart: {restart}
        host:
          ram: 128MiB
          notifierProfile: modern
        guests:
          - name: vm
            memory: 32MiB
            vcpus: 1
            workload:
              pattern: uniform
              writeRatio: 0.5
        activities:
          - kind: madvise-dontneed
            guest: vm
            at: 200ms
            every: 300ms
            size: 4MiB
          - kind: munmap-remap
            guest: vm
            at: 300ms
            every: 500ms
            offset: 8MiB
            size: 2MiB

        """;

    /// <summary>A scenario whose line 8 (<c>vcpus: 0</c>) breaks a rule of the loader.</summary>
    public const string BrokenVcpus = """
        name: broken
        duration: 2s
        host:
          ram: 128MiB
        guests:
          - name: vm
            memory: 32MiB
            vcpus: 0

        """;

    /// <summary>The 1-based line of the bad field in <see cref="BrokenVcpus"/>.</summary>
    public const int BrokenVcpusLine = 8;

    public static string Write(TempDirectory directory, string fileName, string text)
    {
        var path = directory.Combine(fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }
}
