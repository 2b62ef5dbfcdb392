namespace Hypervisor.Host.Analyze.Output;

/// <summary>
/// Renders the report tables as one long-format CSV, <c>table,key,metric,value</c>: one line per cell, keyed by the
/// table's id, the row's first cell and the column's name. Values are raw (no thousands separators; fractions, not
/// percentages), RFC 4180 quoting. Long format keeps one header for every table, and loads into a spreadsheet pivot,
/// pandas or SQL as it is.
/// </summary>
internal static class CsvRenderer
{
    public const string Header = "table,key,metric,value";

    public static void Write(TextWriter writer, IReadOnlyList<ReportTable> tables)
    {
        writer.Write(Header + "\n");
        foreach (var table in tables)
        {
            foreach (var row in table.Rows)
            {
                var key = CellText.Raw(row[0]);
                for (var i = 1; i < row.Count; i++)
                {
                    writer.Write($"{Quote(table.Id)},{Quote(key)},{Quote(table.Columns[i])},{Quote(CellText.Raw(row[i]))}\n");
                }
            }
        }
    }

    /// <summary>Quotes a field when it holds a comma, a quote or a line break (RFC 4180).</summary>
    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
