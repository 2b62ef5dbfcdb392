using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Support;

/// <summary>
/// The real <c>hypervisor</c> executable, started as <c>dotnet hypervisor.dll ...</c> from the test output directory
/// (the test project references the host project, so the build copies it and its config/ folder there).
/// </summary>
internal sealed class HypervisorProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private HypervisorProcess(Process process)
    {
        _process = process;
    }

    public static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "hypervisor.dll");

    public int Id => _process.Id;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the tool in <paramref name="workingDirectory"/> with <paramref name="environment"/> added.</summary>
    public static HypervisorProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var tool = new HypervisorProcess(process);
        process.OutputDataReceived += (_, e) => Append(tool._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(tool._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tool;
    }

    /// <summary>Runs the tool to its end and returns its exit code.</summary>
    public static (int ExitCode, HypervisorProcess Process) Run(string workingDirectory, CancellationToken token, params string[] args) =>
        Run(workingDirectory, null, token, args);

    /// <summary>Runs the tool with extra environment variables to its end and returns its exit code.</summary>
    public static (int ExitCode, HypervisorProcess Process) Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment,
        CancellationToken token, params string[] args)
    {
        var tool = Start(workingDirectory, environment, args);
        return (tool.WaitForExit(token), tool);
    }

    /// <summary>Sends SIGTERM, as <c>docker stop</c> and systemd do.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>True when the process has exited within <paramref name="wait"/>; it is left running otherwise.</summary>
    public bool ExitsWithin(TimeSpan wait) => _process.WaitForExit(wait);

    /// <summary>Waits for the exit (or kills the process when <paramref name="token"/> fires) and returns the exit code.</summary>
    public int WaitForExit(CancellationToken token)
    {
        try
        {
            _process.WaitForExitAsync(token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw;
        }

        // The parameterless wait also waits for the redirected streams to reach end of file.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    /// <summary>Everything the process printed, for assertion messages.</summary>
    public override string ToString() => $"stdout:\n{StandardOutput}\nstderr:\n{StandardError}";

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.AppendLine(line);
        }
    }
}
