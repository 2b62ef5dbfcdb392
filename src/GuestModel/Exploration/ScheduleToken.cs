using System.Globalization;
using System.IO.Compression;
using System.Text;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Exploration;

/// <summary>
/// Everything needed to reproduce one schedule exactly: the scenario file, the run's seed, mutation and profile, the
/// schedule's limits and either its strategy and seed (as explored) or its list of decisions (as shrunk). Printed as
/// <c>hv2.</c> followed by the deflated binary fields (varints; decisions as step deltas) in base64url, so it can be
/// pasted into <c>hypervisor replay</c>; the older text form <c>hv1.</c> still reads.
/// </summary>
public sealed partial record ScheduleToken
{
    private const string Prefix = "hv1.";

    /// <summary>The scenario file, as given to <c>explore</c>.</summary>
    public required string Scenario { get; init; }

    /// <summary>The run's (workload) seed.</summary>
    public ulong Seed { get; init; }

    public string? Mutation { get; init; }

    /// <summary>The notifier profile override (kebab name), or null for the scenario's.</summary>
    public string? Profile { get; init; }

    /// <summary>Virtual duration of the run.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Step budget; the run stops once it is spent.</summary>
    public long MaxSteps { get; init; }

    /// <summary>Virtual time of one guest access.</summary>
    public TimeSpan AccessCost { get; init; }

    public ScheduleStrategyKind Strategy { get; init; }

    /// <summary>The scheduler's seed (random and PCT choices).</summary>
    public ulong ScheduleSeed { get; init; }

    public int Depth { get; init; } = 3;

    public double SwitchProbability { get; init; } = 1.0 / 8;

    /// <summary>Which schedule of the exploration this was.</summary>
    public long Index { get; init; }

    /// <summary>Activities left out of the scenario (by index) by shrinking: fewer threads.</summary>
    public IReadOnlyList<int> DroppedActivities { get; init; } = [];

    /// <summary>The decisions to replay (<see cref="ScheduleStrategyKind.Guided"/> only).</summary>
    public IReadOnlyList<ScheduleDecision> Decisions { get; init; } = [];

    /// <summary>The token as text (<c>hv2.</c>: binary fields, deflated, base64url).</summary>
    public string Encode() => BinaryPrefix + Base64Url(Deflate(ToBinary()));

    /// <summary>The token in the older text form (<c>hv1.</c>), which <see cref="TryDecode"/> still reads.</summary>
    public string EncodeText()
    {
        var fields = new[]
        {
            Uri.EscapeDataString(Scenario), N(Seed), Uri.EscapeDataString(Mutation ?? string.Empty), Uri.EscapeDataString(Profile ?? string.Empty),
            N(Duration.Ticks), N(MaxSteps), N(AccessCost.Ticks), ((int)Strategy).ToString(CultureInfo.InvariantCulture), N(ScheduleSeed),
            N(Depth), SwitchProbability.ToString("R", CultureInfo.InvariantCulture), N(Index),
            string.Join(',', DroppedActivities.Select(d => N(d))), EncodeDecisions(Decisions),
        };
        return Prefix + Base64Url(Deflate(Encoding.UTF8.GetBytes(string.Join(';', fields))));
    }

    private static byte[] Deflate(byte[] raw)
    {
        using var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(raw);
        }

        return buffer.ToArray();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Inflate(string base64Url)
    {
        var b64 = base64Url.Trim().Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
        using var input = new DeflateStream(new MemoryStream(Convert.FromBase64String(b64)), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Reads a token; false with a one-line reason if it is not one.</summary>
    public static bool TryDecode(string text, out ScheduleToken? token, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        token = null;
        problem = null;
        if (text.StartsWith(BinaryPrefix, StringComparison.Ordinal))
        {
            return TryFromBinary(text[BinaryPrefix.Length..], out token, out problem);
        }

        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            problem = $"a replay token starts with '{BinaryPrefix}' (or the older '{Prefix}')";
            return false;
        }

        try
        {
            var f = Encoding.UTF8.GetString(Inflate(text[Prefix.Length..])).Split(';');
            if (f.Length != 14)
            {
                problem = "the token is damaged (wrong number of fields)";
                return false;
            }

            token = new ScheduleToken
            {
                Scenario = Uri.UnescapeDataString(f[0]),
                Seed = ulong.Parse(f[1], CultureInfo.InvariantCulture),
                Mutation = f[2].Length == 0 ? null : Uri.UnescapeDataString(f[2]),
                Profile = f[3].Length == 0 ? null : Uri.UnescapeDataString(f[3]),
                Duration = TimeSpan.FromTicks(long.Parse(f[4], CultureInfo.InvariantCulture)),
                MaxSteps = long.Parse(f[5], CultureInfo.InvariantCulture),
                AccessCost = TimeSpan.FromTicks(long.Parse(f[6], CultureInfo.InvariantCulture)),
                Strategy = (ScheduleStrategyKind)int.Parse(f[7], CultureInfo.InvariantCulture),
                ScheduleSeed = ulong.Parse(f[8], CultureInfo.InvariantCulture),
                Depth = int.Parse(f[9], CultureInfo.InvariantCulture),
                SwitchProbability = double.Parse(f[10], CultureInfo.InvariantCulture),
                Index = long.Parse(f[11], CultureInfo.InvariantCulture),
                DroppedActivities = f[12].Length == 0 ? [] : [.. f[12].Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture))],
                Decisions = DecodeDecisions(f[13]),
            };
            if (!Enum.IsDefined(token.Strategy))
            {
                problem = "the token names an unknown strategy";
                token = null;
                return false;
            }

            return true;
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or OverflowException or IOException or ArgumentException)
        {
            problem = "the token is damaged (" + e.Message.TrimEnd('.') + ")";
            token = null;
            return false;
        }
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string N(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    // Step deltas and thread ids, alternating: "d0.t0.d1.t1...".
    private static string EncodeDecisions(IReadOnlyList<ScheduleDecision> decisions)
    {
        var text = new StringBuilder();
        long last = 0;
        foreach (var d in decisions)
        {
            text.Append(CultureInfo.InvariantCulture, $"{d.Step - last}.{d.Thread}.");
            last = d.Step;
        }

        return text.ToString();
    }

    private static List<ScheduleDecision> DecodeDecisions(string text)
    {
        var parts = text.Split('.', StringSplitOptions.RemoveEmptyEntries);
        var list = new List<ScheduleDecision>(parts.Length / 2);
        long step = 0;
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            step += long.Parse(parts[i], CultureInfo.InvariantCulture);
            list.Add(new ScheduleDecision(step, int.Parse(parts[i + 1], CultureInfo.InvariantCulture)));
        }

        return list;
    }
}
