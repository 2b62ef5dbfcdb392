namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// xoshiro256** (Blackman, Vigna 2018): a fast, small-state generator for hot paths. A mutable struct: keep it in a
/// field or a local and call it in place; a copy continues the same sequence independently. Not thread-safe: one per
/// thread, created outside loops.
/// </summary>
public struct Xoshiro256StarStar
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>A generator for (<paramref name="seed"/>, <paramref name="stream"/>): equal inputs give equal sequences.</summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="stream">Separates generators of one run (a vCPU index, a phase), so they are uncorrelated.</param>
    public Xoshiro256StarStar(ulong seed, ulong stream)
    {
        var state = seed ^ SplitMix64.Mix(stream + 0x632BE59BD9B4E019UL);
        _s0 = SplitMix64.Next(ref state);
        _s1 = SplitMix64.Next(ref state);
        _s2 = SplitMix64.Next(ref state);
        _s3 = SplitMix64.Next(ref state);
        if ((_s0 | _s1 | _s2 | _s3) == 0)
        {
            _s0 = 1; // The all-zero state is the one fixed point of xoshiro; SplitMix64 never yields it, but be sure.
        }
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A number in [0, <paramref name="bound"/>) by Lemire's multiply-shift (bias below bound / 2^64, negligible here).</summary>
    public ulong NextBelow(ulong bound) => Math.BigMul(NextUInt64(), bound, out _);

    /// <summary>A double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// A threshold for <see cref="Chance"/>: probability <paramref name="p"/> in [0, 1] as a 53-bit fixed-point number,
    /// computed once so the hot path compares integers.
    /// </summary>
    public static ulong Threshold(double p) => p >= 1 ? 1UL << 53 : p <= 0 ? 0 : (ulong)(p * (1UL << 53));

    /// <summary>True with the probability a <see cref="Threshold"/> encodes.</summary>
    public bool Chance(ulong threshold) => (NextUInt64() >> 11) < threshold;
}
