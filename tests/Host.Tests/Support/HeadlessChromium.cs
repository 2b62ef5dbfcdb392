using System.Diagnostics;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Support;

/// <summary>
/// Debian's headless <c>chromium</c>, offline: loads a local file and returns the DOM it built. The browser tests
/// (<c>Category("Browser")</c>) skip when it is not installed; <c>.ci/run</c> installs it.
/// </summary>
internal static class HeadlessChromium
{
    public const string Path = "/usr/bin/chromium";

    /// <summary>Ignores the calling test when chromium is not installed.</summary>
    public static void SkipUnlessInstalled()
    {
        if (!File.Exists(Path))
        {
            Assert.Ignore($"{Path} is not installed (apt-get install -y chromium); the browser check is skipped");
        }
    }

    /// <summary>The DOM chromium builds for <paramref name="file"/>, with a fresh profile in <paramref name="profile"/>.</summary>
    public static string DumpDom(string file, string profile, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", $"--user-data-dir={profile}",
                     "--dump-dom", new Uri(file).AbsoluteUri,
                 })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 90 s");
        }

        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"chromium exits cleanly; stderr: {stderr.Result}");
        return stdout.Result;
    }
}
