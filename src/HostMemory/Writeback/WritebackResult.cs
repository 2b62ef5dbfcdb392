namespace Hypervisor.HostMemory.Writeback;

/// <summary>What one writeback pass did.</summary>
/// <param name="PagesWritten">Dirty page-cache pages written to their file.</param>
/// <param name="MappingsCleaned">Page-table entries write-protected and cleaned (<c>page_mkclean_one</c>).</param>
public readonly record struct WritebackResult(long PagesWritten, long MappingsCleaned);
