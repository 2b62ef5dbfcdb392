namespace Hypervisor.Host.Experiments;

/// <summary>
/// One number an experiment measured: which variant, which metric (and its unit), at which value of the swept
/// parameter (<see cref="X"/>, 0 when nothing is swept), under which seed, the how-manieth sample of that seed.
/// Every measurement goes to the CSV; the report's medians and intervals are computed from them.
/// </summary>
internal readonly record struct Measurement(string Variant, string Metric, string Unit, double X, int Seed, int Sample, double Value);
