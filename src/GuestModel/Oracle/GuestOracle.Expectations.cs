using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hypervisor.GuestModel.Oracle;

/// <summary>
/// The owner's expectation of each page in one 32-bit word: what it must read back, and its own write sequence when
/// that became so (the "since" a host event is compared with, <see cref="HostEvent.MayOvertake"/>). Nearly every
/// expectation is zero, the owner's own last write, or a duplicate-content value, and each of those is fully given by
/// a form and one 28-bit sequence: an own write's value is <c>Encode(TagVcpu, owner, page, seq)</c> with since = seq.
/// Anything else (a host value the owner read back after a host write, a value left by a reported violation) is kept
/// whole in a side table. 4 bytes per guest page instead of 12, with the same information: sequences are compared
/// 28-bit serially (<see cref="ValueCodec.SeqAfter"/>) wherever they are compared.
/// </summary>
public sealed partial class GuestOracle
{
    private const int FormShift = 28;
    private const uint SeqPart = (1u << FormShift) - 1;
    private const uint FormZero = 0;      // reads back zero; since = the sequence part
    private const uint FormOwnWrite = 1;  // the owner's write numbered by the sequence part; since = that number
    private const uint FormDuplicate = 2; // 2..14: duplicate-content value number form - 2; since = the sequence part
    private const uint FormEscaped = 15;  // value and since are in _escaped
    private const uint EscapedWord = FormEscaped << FormShift;
    private const long Duplicates = FormEscaped - FormDuplicate;

    private readonly uint[] _expected;

    // Expectations with no compact form, by page. Written by the page's owner; rare (host values, broken pages).
    private readonly ConcurrentDictionary<long, (ulong Value, long Since)> _escaped = new();

    /// <summary>Records what the owner of <paramref name="page"/> must read back from now on.</summary>
    private void SetExpected(long page, ulong value, long since)
    {
        var word = Compact(page, value, since);
        ref var slot = ref _expected[page];
        if (slot == EscapedWord && word != EscapedWord)
        {
            _escaped.TryRemove(page, out _);
        }
        else if (word == EscapedWord)
        {
            _escaped[page] = (value, since);
        }

        Debug.Assert(word == EscapedWord || (ExpectedValue(page, word, OwnerOf(page)) == value && (word & SeqPart) == ((ulong)since & SeqPart)),
            "a compact expectation decodes to exactly the value and the 28-bit since it was made from");
        slot = word;
    }

    private uint Compact(long page, ulong value, long since)
    {
        var seq = (uint)((ulong)since & SeqPart);
        if (value == 0)
        {
            return (FormZero << FormShift) | seq;
        }

        var valueSeq = ValueCodec.Seq(value);
        if (ValueCodec.Tag(value) == ValueCodec.TagVcpu && valueSeq == seq
            && value == ValueCodec.Encode(ValueCodec.TagVcpu, OwnerOf(page), page, valueSeq))
        {
            return (FormOwnWrite << FormShift) | seq;
        }

        if (ValueCodec.Tag(value) == ValueCodec.TagDuplicate && valueSeq < Duplicates
            && value == ValueCodec.Encode(ValueCodec.TagDuplicate, 0, 0, valueSeq))
        {
            return ((FormDuplicate + (uint)valueSeq) << FormShift) | seq;
        }

        return EscapedWord;
    }

    /// <summary>The value the owner (<paramref name="owner"/>) of <paramref name="page"/> must read back, from its word.</summary>
    private ulong ExpectedValue(long page, uint word, int owner) => (word >> FormShift) switch
    {
        FormZero => 0,
        FormOwnWrite => ValueCodec.Encode(ValueCodec.TagVcpu, owner, page, word & SeqPart),
        FormEscaped => _escaped.TryGetValue(page, out var e) ? e.Value : 0,
        var form => ValueCodec.Encode(ValueCodec.TagDuplicate, 0, 0, form - FormDuplicate),
    };

    /// <summary>The owner's write sequence when the expectation of <paramref name="page"/> was set (28 bits unless escaped).</summary>
    private long ExpectedSince(long page)
    {
        var word = _expected[page];
        return word == EscapedWord ? (_escaped.TryGetValue(page, out var e) ? e.Since : 0) : word & SeqPart;
    }

    /// <summary>True if the expectation of <paramref name="page"/> was set at or after the owner's write <paramref name="seq"/>.</summary>
    private bool ExpectedAtOrAfter(long page, long seq) => !ValueCodec.SeqAfter(seq, ExpectedSince(page));

    private int OwnerOf(long page) => (int)(page % _vcpus);
}
