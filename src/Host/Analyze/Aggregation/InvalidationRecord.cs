using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>The fields of one <c>Invalidation</c> event (id 3) that the statistics use.</summary>
internal readonly record struct InvalidationRecord(
    string Guest,
    string Profile,
    string Event,
    string NotifierEvent,
    ulong StartHva,
    long Pages,
    long SptesZapped,
    bool TlbFlushed,
    double DurationMicros,
    bool SinglePage,
    double? ElapsedSeconds)
{
    /// <summary>What a missing string property is reported as.</summary>
    public const string Missing = "(none)";

    /// <summary>
    /// Reads the fields in one pass over the properties: invalidations are most lines of any log, and a lookup per
    /// field would scan the object a dozen times (each <c>TryGetProperty</c> is a linear search).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static InvalidationRecord From(in LogEvent e)
    {
        string? guest = null, profile = null, kind = null, notifierEvent = null;
        ulong start = 0;
        long pages = 0, zapped = 0;
        bool flushed = false, singlePage = false;
        double duration = 0;
        double? elapsed = null;
        foreach (var property in e.Properties.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            var value = property.Value;
            if (name.SequenceEqual("Guest"u8))
            {
                guest = JsonValues.GetText(value);
            }
            else if (name.SequenceEqual("Profile"u8))
            {
                profile = JsonValues.GetText(value);
            }
            else if (name.SequenceEqual("Event"u8))
            {
                kind = JsonValues.GetText(value);
            }
            else if (name.SequenceEqual("NotifierEvent"u8))
            {
                notifierEvent = JsonValues.GetText(value);
            }
            else if (name.SequenceEqual("StartHva"u8))
            {
                JsonValues.TryGetAddress(value, out start);
            }
            else if (name.SequenceEqual("Pages"u8))
            {
                JsonValues.TryGetInt64(value, out pages);
            }
            else if (name.SequenceEqual("SptesZapped"u8))
            {
                JsonValues.TryGetInt64(value, out zapped);
            }
            else if (name.SequenceEqual("TlbFlushed"u8))
            {
                JsonValues.TryGetBoolean(value, out flushed);
            }
            else if (name.SequenceEqual("DurationMicros"u8))
            {
                JsonValues.TryGetDouble(value, out duration);
            }
            else if (name.SequenceEqual("SinglePage"u8))
            {
                JsonValues.TryGetBoolean(value, out singlePage);
            }
            else if (name.SequenceEqual("ElapsedSeconds"u8) && JsonValues.TryGetDouble(value, out var seconds))
            {
                elapsed = seconds;
            }
        }

        return new InvalidationRecord(guest ?? Missing, ProfileNames.Normalize(profile), kind ?? Missing, notifierEvent ?? Missing,
            start, pages, zapped, flushed, duration, singlePage, elapsed);
    }
}
