namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// Every value written into guest memory says who wrote it, for which page, and when: tag (3 bits), writer
/// (7 bits), page (26 bits, modulo), sequence (28 bits, per writer, wrapping). Reading a value therefore tells the
/// oracle whether it could legally be there.
/// </summary>
public static class ValueCodec
{
    public const ulong TagNone = 0;
    public const ulong TagVcpu = 1;
    public const ulong TagHost = 2;
    public const ulong TagChild = 3;
    public const ulong TagDuplicate = 4;

    private const int SeqBits = 28;
    private const int PageBits = 26;
    private const int WriterBits = 7;
    private const ulong SeqMask = (1UL << SeqBits) - 1;
    private const ulong PageMask = (1UL << PageBits) - 1;
    private const ulong WriterMask = (1UL << WriterBits) - 1;

    public static ulong Encode(ulong tag, int writer, long page, long seq) =>
        (tag << 61) | (((ulong)writer & WriterMask) << (SeqBits + PageBits)) | (((ulong)page & PageMask) << SeqBits) | ((ulong)seq & SeqMask);

    public static ulong Tag(ulong value) => value >> 61;

    public static int Writer(ulong value) => (int)((value >> (SeqBits + PageBits)) & WriterMask);

    public static bool IsForPage(ulong value, long page) => ((value >> SeqBits) & PageMask) == ((ulong)page & PageMask);

    public static long Seq(ulong value) => (long)(value & SeqMask);

    /// <summary>Serial-number comparison of two 28-bit sequences: true if <paramref name="a"/> is after <paramref name="b"/>.</summary>
    public static bool SeqAfter(long a, long b)
    {
        var diff = (a - b) & (long)SeqMask;
        return diff != 0 && diff < (1L << (SeqBits - 1));
    }

    public static string Describe(ulong value) => Tag(value) switch
    {
        TagNone when value == 0 => "zero",
        TagVcpu => $"vcpu {Writer(value)} write #{Seq(value)}",
        TagHost => $"host write #{Seq(value)}",
        TagChild => $"fork child {Writer(value)} write #{Seq(value)}",
        TagDuplicate => "a duplicate-content value",
        _ => $"0x{value:x} (no writer wrote this)",
    };
}
