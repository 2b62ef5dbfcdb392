using System.Buffers.Binary;
using System.Text;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Exploration;

// The hv2 form: every field as a LEB128 varint (strings length-prefixed UTF-8, the switch probability as 8 bytes),
// decisions as step deltas and thread ids. An unshrunk schedule's thousands of decisions cost about two bytes each
// before deflate instead of six or seven as text.
public sealed partial record ScheduleToken
{
    private const string BinaryPrefix = "hv2.";

    private byte[] ToBinary()
    {
        using var buffer = new MemoryStream();
        WriteString(buffer, Scenario);
        WriteVarint(buffer, Seed);
        WriteString(buffer, Mutation ?? string.Empty);
        WriteString(buffer, Profile ?? string.Empty);
        WriteVarint(buffer, (ulong)Duration.Ticks);
        WriteVarint(buffer, (ulong)MaxSteps);
        WriteVarint(buffer, (ulong)AccessCost.Ticks);
        WriteVarint(buffer, (ulong)Strategy);
        WriteVarint(buffer, ScheduleSeed);
        WriteVarint(buffer, (ulong)Depth);
        Span<byte> probability = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(probability, SwitchProbability);
        buffer.Write(probability);
        WriteVarint(buffer, (ulong)Index);
        WriteVarint(buffer, (ulong)DroppedActivities.Count);
        foreach (var d in DroppedActivities)
        {
            WriteVarint(buffer, (ulong)d);
        }

        WriteVarint(buffer, (ulong)Decisions.Count);
        long last = 0;
        foreach (var d in Decisions)
        {
            WriteVarint(buffer, (ulong)(d.Step - last));
            WriteVarint(buffer, (ulong)d.Thread);
            last = d.Step;
        }

        return buffer.ToArray();
    }

    private static bool TryFromBinary(string text, out ScheduleToken? token, out string? problem)
    {
        token = null;
        problem = null;
        try
        {
            var reader = new Reader(Inflate(text));
            var scenario = reader.String();
            var seed = reader.Varint();
            var mutation = reader.String();
            var profile = reader.String();
            var duration = TimeSpan.FromTicks(reader.Long());
            var maxSteps = reader.Long();
            var accessCost = TimeSpan.FromTicks(reader.Long());
            var strategy = (ScheduleStrategyKind)reader.Int();
            var scheduleSeed = reader.Varint();
            var depth = reader.Int();
            var switchProbability = reader.Double();
            var index = reader.Long();
            var dropped = new int[reader.Count()];
            for (var i = 0; i < dropped.Length; i++)
            {
                dropped[i] = reader.Int();
            }

            var decisions = new List<ScheduleDecision>(reader.Count());
            long step = 0;
            for (var i = decisions.Capacity; i > 0; i--)
            {
                step = checked(step + reader.Long());
                decisions.Add(new ScheduleDecision(step, reader.Int()));
            }

            if (!reader.AtEnd)
            {
                throw new FormatException("bytes after the last field");
            }

            if (!Enum.IsDefined(strategy))
            {
                problem = "the token names an unknown strategy";
                return false;
            }

            token = new ScheduleToken
            {
                Scenario = scenario, Seed = seed, Mutation = mutation.Length == 0 ? null : mutation, Profile = profile.Length == 0 ? null : profile,
                Duration = duration, MaxSteps = maxSteps, AccessCost = accessCost, Strategy = strategy, ScheduleSeed = scheduleSeed, Depth = depth,
                SwitchProbability = switchProbability, Index = index, DroppedActivities = dropped, Decisions = decisions,
            };
            return true;
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or OverflowException or IOException or ArgumentException)
        {
            problem = "the token is damaged (" + e.Message.TrimEnd('.') + ")";
            return false;
        }
    }

    private static void WriteVarint(MemoryStream buffer, ulong value)
    {
        while (value >= 0x80)
        {
            buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        buffer.WriteByte((byte)value);
    }

    private static void WriteString(MemoryStream buffer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteVarint(buffer, (ulong)bytes.Length);
        buffer.Write(bytes);
    }

    /// <summary>Reads the fields back; every malformed input ends in a <see cref="FormatException"/> or an overflow.</summary>
    private ref struct Reader(byte[] bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _bytes.Length)
                {
                    throw new FormatException("the fields end early");
                }

                var b = _bytes[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw new FormatException("a number is too long");
        }

        public long Long() => checked((long)Varint());

        public int Int() => checked((int)Varint());

        /// <summary>A count of items that follow, each at least one byte long.</summary>
        public int Count()
        {
            var count = Int();
            return count <= _bytes.Length - _at ? count : throw new FormatException("a count larger than the token");
        }

        public double Double()
        {
            if (_bytes.Length - _at < 8)
            {
                throw new FormatException("the fields end early");
            }

            var value = BinaryPrimitives.ReadDoubleLittleEndian(_bytes.Slice(_at, 8));
            _at += 8;
            return value;
        }

        public string String()
        {
            var length = Count();
            var value = Encoding.UTF8.GetString(_bytes.Slice(_at, length));
            _at += length;
            return value;
        }
    }
}
