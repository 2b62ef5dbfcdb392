using System.CommandLine;
using Hypervisor.Host.Bench;
using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Daemon;

namespace Hypervisor.Host;

internal static class Program
{
    private static int Main(string[] args)
    {
        // The daemon and run take stop signals from their first instruction on: before this, SIGTERM kills the process
        // (143) while nothing has been written yet.
        using var earlyStop = args is ["serve" or "run", ..] ? new EarlyStopSignals() : null;
        var root = new RootCommand("Simulates a hypervisor's shadow-paging MMU kept coherent by MMU notifiers.")
        {
            RunVerb.Create(earlyStop),
            ValidateVerb.Create(),
            ServeVerb.Create(earlyStop),
            BenchVerb.Create(),
            Analyze.AnalyzeVerb.Create(),
            ExploreVerb.Create(),
            ReplayVerb.Create(),
            Experiments.ExperimentVerb.Create(),
        };

        try
        {
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var error in parse.Errors)
                {
                    Console.Error.WriteLine(error.Message);
                }

                return ExitCodes.BadInput;
            }

            // Exceptions reach the handlers below (bad input: exit 2; a bug: exit 3). A Ctrl+C or SIGTERM cancels an
            // async verb's token and leaves it time to drain its log before the process is ended.
            return parse.Invoke(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
            });
        }
        catch (BadInputException e)
        {
            // Bad input: the message names the file or setting and what was expected; no stack trace.
            Console.Error.WriteLine(e.Message);
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the simulator, not bad input: one line, no stack trace, a distinct exit code.
            Console.Error.WriteLine($"hypervisor: internal error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
