using Hypervisor.Host.Experiments.Output;

namespace Hypervisor.Host.Experiments;

/// <summary>What an experiment concluded from its measurements.</summary>
/// <param name="Result">The result in one sentence, with its numbers.</param>
/// <param name="Verdict">A one-line verdict on the claims (for docs/experiments.md).</param>
/// <param name="Tables">The measured tables: medians with 95% confidence intervals.</param>
/// <param name="Charts">Charts of the same numbers.</param>
internal sealed record ExperimentOutcome(string Result, string Verdict, IReadOnlyList<ResultTable> Tables, IReadOnlyList<ChartSpec> Charts);
