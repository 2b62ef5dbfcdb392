namespace Hypervisor.GuestModel.Scenarios;

/// <summary>Activities: the common keys here, the kind's parameters in its <see cref="IActivityKind"/>.</summary>
public sealed partial class ScenarioLoader
{
    private List<ActivitySpec> ReadActivities(ParameterReader reader, HostSpec? host, List<GuestSpec> guests)
    {
        var activities = new List<ActivitySpec>();
        foreach (var activity in reader.MappingList("activities") ?? [])
        {
            if (ReadActivity(activity, host, guests) is { } spec)
            {
                activities.Add(spec);
            }
        }

        return activities;
    }

    private ActivitySpec? ReadActivity(ParameterReader reader, HostSpec? host, List<GuestSpec> guests)
    {
        var kindName = reader.OptionalString("kind");
        var guestName = reader.OptionalString("guest");
        var (at, atJitter) = reader.DurationRange("at", TimeSpan.Zero);
        var every = reader.OptionalDuration("every", positive: true);
        var count = reader.OptionalLong("count", min: 1);
        if (every is null && count > 1)
        {
            reader.Error("count", $"expected count 1 without every (all firings would happen at once), got {count}; add every");
        }

        if (kindName is null)
        {
            if (!reader.Has("kind"))
            {
                reader.Error("kind", $"missing required field (one of {string.Join(", ", _registry.Names)})");
            }

            return null;
        }

        if (!_registry.TryGet(kindName, out var kind))
        {
            // The kind's parameters are unknown, so its other keys cannot be judged: report the kind only.
            reader.Error("kind", $"unknown activity kind \"{kindName}\" (known: {string.Join(", ", _registry.Names)})");
            return null;
        }

        var guest = guestName is null ? null : guests.FirstOrDefault(g => string.Equals(g.Name, guestName, StringComparison.Ordinal));
        if (guestName is not null && guest is null)
        {
            var names = guests.Count == 0 ? "none" : string.Join(", ", guests.Select(g => g.Name));
            reader.Error("guest", $"unknown guest \"{guestName}\" (guests: {names})");
        }
        else if (guestName is null && kind.NeedsGuest)
        {
            reader.Error("guest", $"missing required field (activity kind {kind.Name} acts on a guest)");
        }

        // A guest whose memory was invalid (already reported) gives no sound range to check against.
        var context = guest is { Memory: > 0 } ? guest : null;
        var parameters = kind.Parse(reader.WithContext(host, context));
        reader.ReportUnknownKeys();
        return new ActivitySpec
        {
            Kind = kind.Name,
            Guest = guestName,
            At = at,
            AtJitter = atJitter,
            Every = every,
            Count = count ?? (every is null ? 1 : null),
            Parameters = parameters,
            Line = reader.Line,
        };
    }
}
