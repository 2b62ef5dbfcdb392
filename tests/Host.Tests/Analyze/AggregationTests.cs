using Hypervisor.Host.Analyze.Aggregation;
using Hypervisor.Host.Analyze.Input;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>The bounded aggregates: the quantile sketch, the power-of-two histogram, the timeline, the range counter, the line reader.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class AggregationTests
{
    [Test]
    public void Quantile_sketch_stays_within_one_percent_of_the_exact_quantile_over_six_decades()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 100_000).Select(_ => Math.Pow(10, random.NextDouble() * 6 - 1)).ToArray();
        var sketch = new LogLinearHistogram();
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        Array.Sort(values);
        Assert.Multiple(() =>
        {
            foreach (var q in new[] { 0.01, 0.25, 0.5, 0.9, 0.99, 0.999 })
            {
                var exact = values[(int)Math.Ceiling(q * values.Length) - 1];
                Assert.That(sketch.Quantile(q), Is.EqualTo(exact).Within(1).Percent, $"quantile {q}");
            }

            Assert.That(sketch.Quantile(1), Is.EqualTo(values[^1]), "the maximum is exact");
            Assert.That(sketch.Count, Is.EqualTo(values.Length), "every value counted");
        });
    }

    [Test]
    public void Merged_sketches_answer_like_one_sketch_of_all_values()
    {
        var (a, b, all) = (new LogLinearHistogram(), new LogLinearHistogram(), new LogLinearHistogram());
        for (var i = 1; i <= 1000; i++)
        {
            (i % 2 == 0 ? a : b).Add(i);
            all.Add(i);
        }

        a.Merge(b);
        Assert.That(new[] { a.Quantile(0.5), a.Quantile(0.99), a.Max, a.Sum },
            Is.EqualTo(new[] { all.Quantile(0.5), all.Quantile(0.99), all.Max, all.Sum }), "merging loses nothing");
    }

    [Test]
    public void Power_of_two_buckets_are_labelled_by_their_range()
    {
        var histogram = new PowerOfTwoHistogram();
        foreach (var v in new long[] { 0, 1, 2, 3, 4, 7, 8, 512, 1023 })
        {
            histogram.Add(v);
        }

        var buckets = histogram.ToBuckets();
        Assert.Multiple(() =>
        {
            Assert.That(buckets.Select(b => b.Label).Take(5), Is.EqualTo(new[] { "0", "1", "2-3", "4-7", "8-15" }), "labels");
            Assert.That(buckets.Select(b => b.Count).Take(4), Is.EqualTo(new long[] { 1, 1, 2, 2 }), "counts");
            Assert.That(buckets[^1].Label, Is.EqualTo("512-1023"), "512 and 1023 share a bucket");
            Assert.That(buckets[^1].Count, Is.EqualTo(2), "both");
            Assert.That(buckets, Has.Count.EqualTo(11), "empty buckets between are kept");
        });
    }

    [Test]
    public void Timeline_widens_its_buckets_instead_of_growing_without_bound()
    {
        var series = new RateSeries();
        for (var second = 0; second < 100_000; second++)
        {
            series.AddInvalidation(second + 0.5);
        }

        var points = series.ToPoints();
        Assert.Multiple(() =>
        {
            Assert.That(points, Has.Count.LessThanOrEqualTo(RateSeries.MaxBuckets), "bounded");
            Assert.That(series.BucketSeconds, Is.EqualTo(128), "a power of two wide enough for 100,000 s");
            Assert.That(points.Sum(p => p.Invalidations), Is.EqualTo(100_000), "nothing lost in merging");
            Assert.That(points[0].InvalidationsPerSecond, Is.EqualTo(1).Within(1e-9), "the rate is per second, not per bucket");
        });
    }

    [Test]
    public void Range_counter_keeps_the_heavy_hitters_exact_enough_when_it_must_forget()
    {
        var counter = new HeavyHitters<int>(capacity: 100);
        for (var i = 0; i < 10_000; i++)
        {
            counter.Add(i % 10 == 0 ? -1 : i); // key -1 every tenth time, 9,000 singletons
        }

        var top = counter.Top(1, k => k).Single();
        Assert.Multiple(() =>
        {
            Assert.That(top.Key, Is.EqualTo(-1), "the heavy key survives pruning");
            Assert.That(top.Value, Is.InRange(1000 - counter.ErrorBound, 1000), "its count is low by at most the error bound");
            Assert.That(counter.ErrorBound, Is.GreaterThan(0), "pruning happened and is reported");
        });
    }

    [Test]
    public void Line_reader_returns_the_last_line_without_newline_as_unterminated()
    {
        using var reader = new Utf8LineReader(new MemoryStream("a\r\nbb\n\nccc"u8.ToArray()));
        var seen = new List<(LineStatus, string)>();
        while (reader.ReadLine(out var line) is var status and not LineStatus.EndOfStream)
        {
            seen.Add((status, System.Text.Encoding.UTF8.GetString(line.Span)));
        }

        Assert.That(seen, Is.EqualTo(new[]
        {
            (LineStatus.Complete, "a"), (LineStatus.Complete, "bb"), (LineStatus.Complete, string.Empty), (LineStatus.Unterminated, "ccc"),
        }), "CRLF stripped, blank line kept, the last line flagged");
    }
}
