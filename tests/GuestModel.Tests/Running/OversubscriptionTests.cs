using Hypervisor.GuestModel.Tests.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Writes the oversubscription scenarios (16, 256 and 1,000 one-vCPU guests) for timing the Release CLI by hand:
/// <c>dotnet run --project src/Host -c Release -- run artifacts/oversubscription/many-1000.yaml --duration 1s</c>.
/// Explicit: a tool, not a test (speed is measured, never asserted by a timed unit test).
/// </summary>
[TestFixture]
[Explicit("writes scenario files for timing by hand")]
public class OversubscriptionTests
{
    [Test]
    public void Write_the_oversubscription_scenarios()
    {
        var directory = Path.Combine(RepoPaths.Root, "artifacts", "oversubscription");
        Directory.CreateDirectory(directory);
        foreach (var guests in new[] { 16, 256, 1000 })
        {
            var path = Path.Combine(directory, $"many-{guests}.yaml");
            File.WriteAllText(path, OversubscribedScenario.Text(guests));
            TestContext.Out.WriteLine(path);
        }
    }
}
