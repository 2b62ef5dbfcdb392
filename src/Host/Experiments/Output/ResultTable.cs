namespace Hypervisor.Host.Experiments.Output;

/// <summary>A table of a report: a caption, column headings and rows of already formatted cells.</summary>
internal sealed record ResultTable(string Caption, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);
