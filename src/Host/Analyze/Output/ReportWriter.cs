using System.Text;
using Hypervisor.Host.Analyze.Report;
using Spectre.Console;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>Renders a report in a format, to a writer or atomically to a file.</summary>
internal static class ReportWriter
{
    /// <summary>Timeline rows shown in formats read by people in a terminal or editor; CSV, JSON and HTML keep them all.</summary>
    public const int TerminalTimelineRows = 60;

    /// <summary>The width tables are laid out for when the output is not a terminal.</summary>
    private const int FileWidth = 200;

    public static string Title(AnalysisReport report) =>
        "Invalidation statistics: " + string.Join(", ", report.Input.Files.Select(f => Path.GetFileName(f.Path)).Distinct().Take(4))
        + (report.Input.Files.Count > 4 ? $" and {report.Input.Files.Count - 4} more" : string.Empty);

    /// <summary>Writes the report; <paramref name="terminal"/> is used for the table format when given (stdout).</summary>
    public static void Write(AnalysisReport report, ReportFormat format, TextWriter writer, IAnsiConsole? terminal = null)
    {
        var title = Title(report);
        switch (format)
        {
            case ReportFormat.Json:
                writer.Write(JsonRenderer.Serialize(report));
                writer.Write('\n');
                break;
            case ReportFormat.Csv:
                CsvRenderer.Write(writer, ReportTables.Build(report, int.MaxValue));
                break;
            case ReportFormat.Markdown:
                MarkdownRenderer.Write(writer, title, ReportTables.Build(report, TerminalTimelineRows));
                break;
            case ReportFormat.Html:
                HtmlRenderer.Write(writer, title, report, ReportTables.Build(report, int.MaxValue));
                break;
            default:
                var console = terminal ?? PlainConsole(writer);
                TableRenderer.Write(console, title, ReportTables.Build(report, TerminalTimelineRows));
                break;
        }

        writer.Flush();
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it, so no reader sees half a report.</summary>
    public static void WriteFile(AnalysisReport report, ReportFormat format, string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var writer = new StreamWriter(temp, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                Write(report, format, writer);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>A console without colours or terminal queries, laid out <see cref="FileWidth"/> columns wide.</summary>
    public static IAnsiConsole PlainConsole(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = FileWidth;
        return console;
    }
}
