using System.Globalization;
using System.Text;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>
/// Scenario files with many one-vCPU guests (2 MiB each, uniform workload), as an oversubscribed host runs them. The
/// explicit <c>OversubscriptionTests.Write_the_oversubscription_scenarios</c> writes them for timing the CLI by hand.
/// </summary>
internal static class OversubscribedScenario
{
    public static string Text(int guests)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"name: many-{guests}\nseed: 1\nduration: 1s\nhost:\n  ram: {Math.Max(64, guests * 4)}MiB\nguests:\n");
        for (var i = 0; i < guests; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {{ name: g{i}, memory: 2MiB, vcpus: 1, workload: {{ pattern: uniform, writeRatio: 0.3 }} }}\n");
        }

        return text.ToString();
    }
}
