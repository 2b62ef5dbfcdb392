using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Mirrors.Common;

namespace Hypervisor.GuestModel.Clients;

/// <summary>Reads the <c>clients</c> list of a scenario file; every problem becomes a positioned scenario error.</summary>
public static class ClientSpecReader
{
    /// <summary>The clients of the document whose root is <paramref name="root"/> (empty when the key is absent).</summary>
    public static IReadOnlyList<ClientSpec> Read(ParameterReader root, IReadOnlyList<GuestSpec> guests)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(guests);
        var clients = new List<ClientSpec>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var reader in root.MappingList("clients") ?? [])
        {
            var name = reader.RequiredName("name");
            var kind = reader.Enum("kind", ClientKind.HmmMirror);
            var guestName = reader.RequiredName("guest");
            var guest = guests.FirstOrDefault(g => g.Name == guestName);
            if (guest is null && guestName.Length > 0)
            {
                reader.Error("guest", $"expected the name of a guest ({string.Join(", ", guests.Select(g => g.Name))}), got \"{guestName}\"");
            }

            var size = reader.Size("size", 0, SizeRules.PageAligned);
            if (guest is not null && guest.Memslots.Count > 0 && size > guest.Memslots[0].Size)
            {
                reader.Error("size", $"expected at most the guest's first slot ({ScenarioUnits.FormatSize(guest.Memslots[0].Size)}), got {ScenarioUnits.FormatSize(size)}");
            }

            var latency = reader.OptionalLong("remoteLatencyMicros", min: 0, max: 1_000_000);
            if (latency is not null && kind != ClientKind.XpmemExport)
            {
                reader.Error("remoteLatencyMicros", $"expected only for kind xpmem-export, got it for {ScenarioFields.EnumValue(kind)}");
            }

            var command = reader.OptionalLong("commandMicros", min: 0, max: 1_000_000);
            if (command is not null && kind != ClientKind.HmmMirror)
            {
                reader.Error("commandMicros", $"expected only for kind hmm-mirror, got it for {ScenarioFields.EnumValue(kind)}");
            }

            if (name.Length > 0 && !names.Add(name))
            {
                reader.Error("name", $"duplicate client name \"{name}\"");
            }

            reader.ReportUnknownKeys(ClientSpec.Fields);
            clients.Add(new ClientSpec { Name = name, Kind = kind, Guest = guestName, Size = size, RemoteLatencyMicros = latency,
                CommandMicros = command ?? 0 });
        }

        return clients;
    }
}
