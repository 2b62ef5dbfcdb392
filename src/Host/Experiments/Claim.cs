namespace Hypervisor.Host.Experiments;

/// <summary>A sentence from the seed discussions an experiment puts to the test: who said it, in which seed file.</summary>
/// <param name="Quote">The words as written in the seed file.</param>
/// <param name="Author">Who wrote them.</param>
/// <param name="SeedFile">The file under <c>shared/seeds/</c> that holds them.</param>
internal sealed record Claim(string Quote, string Author, string SeedFile);
