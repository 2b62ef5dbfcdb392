namespace Hypervisor.Host.Pipeline;

/// <summary>The pipeline's running statistics at one moment.</summary>
/// <param name="Events">Events consumed since the pipeline started.</param>
/// <param name="Invalidations">Invalidation events among them.</param>
/// <param name="MaxQueueDepth">The deepest the channel was seen since the previous snapshot that reset it.</param>
/// <param name="Blocked">Time producers spent waiting on a full channel, all producers summed.</param>
/// <param name="Elapsed">Time since the pipeline started.</param>
internal sealed record PipelineSnapshot(long Events, long Invalidations, int MaxQueueDepth, TimeSpan Blocked, TimeSpan Elapsed);
