namespace Hypervisor.Host.Analyze.Output;

/// <summary>A table cell holding a fraction (0..1): people see a percentage, machines the fraction.</summary>
internal readonly record struct Share(double Value);
