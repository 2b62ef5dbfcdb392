using System.Reflection;
using System.Runtime.InteropServices;

namespace Hypervisor.Host.Experiments.Output;

/// <summary>What a reader needs to reproduce a report: the command, the seeds, the machine and the version.</summary>
internal sealed record RunInfo(string Command, IReadOnlyList<int> Seeds, double Scale, DateTimeOffset Started, TimeSpan Elapsed)
{
    public static string Machine =>
        $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()} {RuntimeInformation.OSArchitecture}, " +
        $"{RuntimeInformation.FrameworkDescription}, load average {LoadAverage()}";

    public static string Version =>
        typeof(RunInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The 1-minute load average (Linux), which says how much of the cores other processes took.</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
