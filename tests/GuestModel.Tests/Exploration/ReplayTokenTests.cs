using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>
/// A replay token reproduces its schedule exactly: the token survives text, and every replay takes the same steps
/// (the same trace hash), whether it names a strategy and seed or a list of decisions.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ReplayTokenTests
{
    private static Scenario RaceHunt()
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "race-hunt.yaml"));
        Assert.That(result.Errors, Is.Empty, "race-hunt.yaml loads");
        return result.Scenario!;
    }

    private static ExploreOptions Small() => new()
    {
        ScenarioPath = "config/scenarios/race-hunt.yaml",
        Seed = 2024,
        Duration = TimeSpan.FromMilliseconds(30),
        MaxSteps = 8_000,
        AccessCost = TimeSpan.FromMicroseconds(100),
    };

    [Test]
    [CancelAfter(180_000)]
    public void One_token_replayed_five_times_gives_the_same_trace_hash(CancellationToken token)
    {
        var scenario = RaceHunt();
        var explored = ScheduleRun.Execute(scenario, Small().TokenFor(3), token);
        var guided = Small().TokenFor(3) with { Strategy = ScheduleStrategyKind.Guided, Decisions = explored.Decisions };
        Assert.That(ScheduleToken.TryDecode(guided.Encode(), out var decoded, out var problem), Is.True, problem ?? "the token reads back");
        Assert.That(decoded, Is.Not.Null);
        Assert.That(decoded!.Decisions, Is.EqualTo(guided.Decisions), "the decisions survive the text form");
        var hashes = Enumerable.Range(0, 5).Select(_ => ScheduleRun.Execute(scenario, decoded, token).Summary.Schedule!.TraceHash).ToList();
        TestContext.Out.WriteLine($"{explored.Summary.Schedule!.Steps} steps, {explored.Decisions.Count} decisions, hash {hashes[0]}");
        Assert.Multiple(() =>
        {
            Assert.That(explored.Decisions, Is.Not.Empty, "the random walk did switch threads");
            Assert.That(hashes.Distinct(), Has.Exactly(1).Items, "five replays, one trace");
            Assert.That(hashes[0], Is.EqualTo(explored.Summary.Schedule!.TraceHash), "and it is the explored schedule's trace");
        });
    }

    [Test]
    public void A_damaged_token_is_refused_with_a_reason()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ScheduleToken.TryDecode("xyz", out _, out var problem), Is.False, "no prefix");
            Assert.That(problem, Does.Contain("hv1."), "the reason names the expected prefix");
            Assert.That(ScheduleToken.TryDecode("hv1.AAAA", out _, out problem), Is.False, "not deflated fields");
            Assert.That(problem, Does.Contain("damaged"), "the reason says the token is damaged");
        });
    }

    [Test]
    public void A_token_of_thousands_of_decisions_stays_small_and_reads_back_exactly()
    {
        // An unshrunk random walk: a switch every eight steps or so, among 21 threads.
        var random = new Random(2024);
        var decisions = new List<ScheduleDecision>();
        long step = 0;
        for (var i = 0; i < 6_000; i++)
        {
            step += 1 + random.Next(16);
            decisions.Add(new ScheduleDecision(step, random.Next(21)));
        }

        var token = Small().TokenFor(9) with { Strategy = ScheduleStrategyKind.Guided, Decisions = decisions, DroppedActivities = [3, 7] };
        var binary = token.Encode();
        var text = token.EncodeText();
        TestContext.Out.WriteLine($"6,000 decisions: hv2 {binary.Length} characters, hv1 {text.Length}");
        Assert.That(ScheduleToken.TryDecode(binary, out var decoded, out var problem), Is.True, problem ?? "the hv2 token reads back");
        Assert.That(ScheduleToken.TryDecode(text, out var fromText, out problem), Is.True, problem ?? "the older hv1 form still reads");
        Assert.Multiple(() =>
        {
            Assert.That(binary, Does.StartWith("hv2."), "tokens are written in the binary form");
            Assert.That(decoded!.Decisions, Is.EqualTo(decisions), "every decision survives");
            Assert.That(decoded with { Decisions = token.Decisions, DroppedActivities = token.DroppedActivities }, Is.EqualTo(token),
                "every other field survives");
            Assert.That(decoded.DroppedActivities, Is.EqualTo(token.DroppedActivities), "the dropped activities survive");
            Assert.That(fromText!.Decisions, Is.EqualTo(decisions), "the text form reads back the same decisions");
            Assert.That(binary.Length, Is.LessThan(text.Length), "varints beat decimal text");
            Assert.That(binary.Length, Is.LessThan(6_000 * 2), "under two characters per decision");
        });
    }

    [Test]
    public void A_damaged_binary_token_is_refused_with_a_reason()
    {
        var good = Small().TokenFor(1).Encode();
        Assert.Multiple(() =>
        {
            Assert.That(ScheduleToken.TryDecode(good[..(good.Length / 2)], out _, out var problem), Is.False, "cut in half");
            Assert.That(problem, Does.Contain("damaged"), "the reason says the token is damaged");
            Assert.That(ScheduleToken.TryDecode("hv2.AAAA", out _, out problem), Is.False, "not deflated fields");
            Assert.That(problem, Does.Contain("damaged"), "the reason says the token is damaged");
        });
    }

    [Test]
    public void Shard_layouts_give_schedule_i_the_same_seed()
    {
        var whole = Small();
        var shard = Small() with { ShardIndex = 2, ShardCount = 4 };
        Assert.That(shard.TokenFor(6).ScheduleSeed, Is.EqualTo(whole.TokenFor(6).ScheduleSeed), "a schedule's seed depends on its index only");
        Assert.That(whole.TokenFor(6).ScheduleSeed, Is.Not.EqualTo(whole.TokenFor(7).ScheduleSeed), "neighbours differ");
    }
}
