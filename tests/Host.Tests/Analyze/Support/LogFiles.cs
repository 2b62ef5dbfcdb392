using Hypervisor.Host.Analyze;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>Writes synthetic logs into a temp directory and analyses them in-process.</summary>
internal static class LogFiles
{
    public static string Write(TempDirectory directory, Action<SyntheticLog> write, string name = "hypervisor.json",
        bool numbersAsStrings = false, LogLayout layout = LogLayout.Compact)
    {
        var path = directory.File(name);
        using (var log = new SyntheticLog(File.Create(path)) { NumbersAsStrings = numbersAsStrings, Layout = layout })
        {
            write(log);
        }

        return path;
    }

    public static AnalysisReport Analyze(TempDirectory directory, Action<SyntheticLog> write, AnalyzeFilter? filter = null,
        LogLayout layout = LogLayout.Compact) =>
        LogAnalyzer.Analyze([Write(directory, write, layout: layout)], filter ?? AnalyzeFilter.None);

    /// <summary>The known ten-second run, analysed.</summary>
    public static AnalysisReport AnalyzeKnown(TempDirectory directory, AnalyzeFilter? filter = null, LogLayout layout = LogLayout.Compact) =>
        Analyze(directory, log => KnownLog.Write(log), filter, layout);
}
