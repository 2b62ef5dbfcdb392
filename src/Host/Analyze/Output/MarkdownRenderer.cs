using System.Text;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>Renders the report tables as GitHub-flavoured Markdown: a heading and a pipe table each.</summary>
internal static class MarkdownRenderer
{
    public static void Write(TextWriter writer, string title, IReadOnlyList<ReportTable> tables)
    {
        writer.WriteLine($"# {title}");
        foreach (var table in tables)
        {
            writer.WriteLine();
            writer.WriteLine($"## {table.Title}");
            writer.WriteLine();
            if (table.Note is { } note)
            {
                writer.WriteLine(Escape(note));
                writer.WriteLine();
            }

            if (table.Rows.Count == 0)
            {
                writer.WriteLine("_none_");
                continue;
            }

            writer.WriteLine(Row(table.Columns));
            writer.WriteLine(Row(table.Columns.Select((_, i) => table.IsNumeric(i) ? "---:" : "---")));
            foreach (var row in table.Rows)
            {
                writer.WriteLine(Row(row.Select(CellText.Human)));
            }
        }
    }

    private static string Row(IEnumerable<string> cells)
    {
        var line = new StringBuilder("|");
        foreach (var cell in cells)
        {
            line.Append(' ').Append(Escape(cell)).Append(" |");
        }

        return line.ToString();
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
