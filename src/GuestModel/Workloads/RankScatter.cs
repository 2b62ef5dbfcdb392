namespace Hypervisor.GuestModel.Workloads;

/// <summary>
/// A fixed, seeded bijection of [0, n) used to place Zipf ranks on pages, so hot pages are scattered over the working
/// set instead of packed at its start: page = (rank * a + b) mod n, with a about n / golden ratio and coprime to n
/// (so neighbouring ranks land far apart and every page is hit by exactly one rank) and b drawn from the seed.
/// </summary>
internal readonly struct RankScatter
{
    private readonly ulong _n;
    private readonly ulong _multiplier;
    private readonly ulong _offset;

    /// <param name="n">Size of the domain, at least 1.</param>
    /// <param name="seed">Chooses the offset; the same seed gives the same placement.</param>
    public RankScatter(ulong n, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfZero(n);
        _n = n;
        var multiplier = Math.Max(1UL, (ulong)(n * 0.6180339887498949) % n);
        while (n > 1 && Gcd(multiplier, n) != 1)
        {
            multiplier = (multiplier + 1) % n;
        }

        _multiplier = n == 1 ? 0 : multiplier;
        _offset = SplitMix64.Mix(seed ^ n) % n;
    }

    /// <summary>The page (0-based, inside the working set) of a 0-based rank below n.</summary>
    public ulong Map(ulong rank)
    {
        // Below 2^32 elements rank * multiplier fits in 64 bits; beyond that (16 TiB of 4 KiB pages) widen.
        return _n <= uint.MaxValue
            ? ((rank * _multiplier) + _offset) % _n
            : (ulong)((((UInt128)rank * _multiplier) + _offset) % _n);
    }

    private static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
