namespace Hypervisor.Host.Analyze.Report;

/// <summary>A file read, in reading order.</summary>
internal sealed record InputFile(string Path, long Bytes, long Lines);
