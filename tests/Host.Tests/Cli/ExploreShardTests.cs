using System.Text.Json;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;
using YamlDotNet.RepresentationModel;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// <c>explore --shard I/N</c> splits one search exactly: four local processes, merged, give the unsharded result (the
/// same clean schedules with the same trace hashes, the same first violation and token); the Kubernetes Indexed Job
/// manifest runs those shards with the index the Job controller hands each pod.
/// </summary>
[TestFixture]
public class ExploreShardTests
{
    private const int Shards = 4;

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hypervisor.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Hypervisor.sln) is above the test directory");
    }

    private static string[] Search(string scenario) =>
        ["explore", scenario, "--schedules", "12", "--duration", "10ms", "--max-steps", "3000", "--seed", "5"];

    [Test]
    [CancelAfter(300_000)]
    public void Four_local_shards_merged_equal_the_unsharded_search(CancellationToken token)
    {
        using var directory = new TempDirectory();
        var scenario = Path.Combine(RepoRoot(), "config", "scenarios", "race-hunt.yaml");
        var (wholeExit, whole) = HypervisorProcess.Run(directory.Path, token, [.. Search(scenario), "--out", directory.Combine("whole.json")]);
        using var _ = whole;
        Assert.That(wholeExit, Is.AnyOf(0, 1), $"the unsharded search completes\n{whole}");

        var shards = Enumerable.Range(0, Shards).Select(i => HypervisorProcess.Start(directory.Path, null,
            [.. Search(scenario), "--shard", $"{i}/{Shards}", "--out", directory.Combine($"shard-{i}.json")])).ToList();
        foreach (var shard in shards)
        {
            var exit = shard.WaitForExit(token);
            Assert.That(exit, Is.AnyOf(0, 1), $"every shard completes\n{shard}");
            shard.Dispose();
        }

        var (mergeExit, merge) = HypervisorProcess.Run(directory.Path, token,
            ["explore", "--merge", .. Enumerable.Range(0, Shards).Select(i => directory.Combine($"shard-{i}.json")), "--out", directory.Combine("merged.json")]);
        using var __ = merge;
        using var wholeJson = JsonDocument.Parse(File.ReadAllText(directory.Combine("whole.json")));
        using var mergedJson = JsonDocument.Parse(File.ReadAllText(directory.Combine("merged.json")));
        var w = wholeJson.RootElement;
        var m = mergedJson.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(mergeExit, Is.EqualTo(wholeExit), $"the merged verdict is the unsharded one\n{merge}");
            Assert.That(m.GetProperty("digest").GetString(), Is.EqualTo(w.GetProperty("digest").GetString()),
                "the same clean schedules with the same trace hashes");
            Assert.That(m.GetProperty("clean").GetArrayLength(), Is.EqualTo(w.GetProperty("clean").GetArrayLength()), "as many clean schedules");
            Assert.That(m.GetProperty("violation").ToString(), Is.EqualTo(w.GetProperty("violation").ToString()),
                "the same first violation and replay token (or none)");
            Assert.That(m.GetProperty("schedulesRun").GetInt64(), Is.EqualTo(w.GetProperty("schedulesRun").GetInt64()), "the same schedule range");
        });
    }

    [Test]
    public void The_indexed_job_runs_one_shard_per_completion_index_and_keeps_the_results()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepoRoot(), "deploy", "explore-job.yaml")))
        {
            yaml.Load(reader);
        }

        var job = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Scalar(YamlNode node, params string[] path)
        {
            foreach (var key in path)
            {
                node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
            }

            return ((YamlScalarNode)node).Value!;
        }

        var spec = job.Children[new YamlScalarNode("spec")];
        var pod = ((YamlMappingNode)spec).Children[new YamlScalarNode("template")];
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)pod).Children[new YamlScalarNode("spec")])
            .Children[new YamlScalarNode("containers")]).Children[0];
        var env = ((YamlSequenceNode)container.Children[new YamlScalarNode("env")]).Cast<YamlMappingNode>().ToList();
        var index = env.Single(e => Scalar(e, "name") == "JOB_COMPLETION_INDEX");
        var shards = env.Single(e => Scalar(e, "name") == "SHARDS");
        var script = string.Join(' ', ((YamlSequenceNode)container.Children[new YamlScalarNode("args")]).Select(a => ((YamlScalarNode)a).Value));
        var mounts = ((YamlSequenceNode)container.Children[new YamlScalarNode("volumeMounts")]).Cast<YamlMappingNode>().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(Scalar(job, "apiVersion"), Is.EqualTo("batch/v1"), "a batch Job");
            Assert.That(Scalar(job, "kind"), Is.EqualTo("Job"));
            Assert.That(Scalar(spec, "completionMode"), Is.EqualTo("Indexed"), "each pod gets its own completion index");
            Assert.That(Scalar(spec, "parallelism"), Is.EqualTo(Scalar(spec, "completions")), "every shard runs at once");
            Assert.That(Scalar(shards, "value"), Is.EqualTo(Scalar(spec, "completions")), "the shard count is the number of completions");
            Assert.That(Scalar(index, "valueFrom", "fieldRef", "fieldPath"),
                Is.EqualTo("metadata.annotations['batch.kubernetes.io/job-completion-index']"), "the index comes from the Job controller");
            Assert.That(Scalar(pod, "spec", "restartPolicy"), Is.EqualTo("Never"), "a Job's pods are not restarted in place");
            Assert.That(script, Does.Contain("explore ").And.Contain("--shard \"${JOB_COMPLETION_INDEX}/${SHARDS}\""), "the shard is the pod's index");
            Assert.That(script, Does.Contain("--out \"/results/shard-${JOB_COMPLETION_INDEX}.json\""), "each shard writes its own result");
            Assert.That(mounts.Select(mount => Scalar(mount, "mountPath")), Does.Contain("/results"), "on the shared results volume");
            Assert.That(script, Does.Contain("[ \"$code\" -le 1 ]"), "a found violation (exit 1) is a result, not a pod failure");
        });
    }
}
