using Spectre.Console;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>Renders the report tables for a terminal with Spectre.Console.</summary>
internal static class TableRenderer
{
    public static void Write(IAnsiConsole console, string title, IReadOnlyList<ReportTable> tables)
    {
        console.MarkupLine($"[bold]{Markup.Escape(title)}[/]");
        foreach (var table in tables)
        {
            if (table.Rows.Count == 0)
            {
                continue;
            }

            var grid = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(table.Title)}[/]");
            for (var i = 0; i < table.Columns.Count; i++)
            {
                var column = new TableColumn(Markup.Escape(table.Columns[i]));
                grid.AddColumn(table.IsNumeric(i) ? column.RightAligned() : column.LeftAligned());
            }

            foreach (var row in table.Rows)
            {
                grid.AddRow([.. row.Select(cell => Markup.Escape(CellText.Human(cell)))]);
            }

            if (table.Note is { } note)
            {
                grid.Caption(Markup.Escape(note));
            }

            console.WriteLine();
            console.Write(grid);
        }
    }
}
