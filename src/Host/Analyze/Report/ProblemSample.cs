namespace Hypervisor.Host.Analyze.Report;

/// <summary>Where a line that could not be analysed is, and why.</summary>
internal sealed record ProblemSample(string File, long Line, string Kind, string Detail);
