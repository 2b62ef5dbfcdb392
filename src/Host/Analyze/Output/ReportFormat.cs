namespace Hypervisor.Host.Analyze.Output;

/// <summary>The <c>--format</c> values.</summary>
internal enum ReportFormat
{
    /// <summary>Tables for a terminal (Spectre.Console).</summary>
    Table,

    /// <summary>The report model as camelCase JSON.</summary>
    Json,

    /// <summary>Long-format CSV: <c>table,key,metric,value</c>, one line per number.</summary>
    Csv,

    /// <summary>GitHub-flavoured Markdown tables.</summary>
    Markdown,

    /// <summary>One self-contained HTML file with inline CSS and SVG charts.</summary>
    Html,
}
