namespace Hypervisor.Host.Analyze.Output;

/// <summary>
/// A renderer-neutral table of the report: the first column is the row's key. Cells are strings, integers, doubles,
/// <see cref="Share"/>s or null; each renderer formats them (<see cref="CellText"/>). Every format renders the same
/// tables, so the numbers cannot drift apart between formats.
/// </summary>
internal sealed record ReportTable(string Id, string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<object?>> Rows)
{
    /// <summary>A sentence shown under the title (what the numbers mean, why a table is empty).</summary>
    public string? Note { get; init; }

    /// <summary>True when a column holds numbers (aligned right); names, addresses and verdicts align left.</summary>
    public bool IsNumeric(int column) =>
        column > 0 && Rows.Select(r => r[column]).FirstOrDefault(c => c is not null) is not (null or string or bool);
}
