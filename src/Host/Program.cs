using System.CommandLine;
using Hypervisor.Host.Cli;

namespace Hypervisor.Host;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("Simulates a hypervisor's shadow-paging MMU kept coherent by MMU notifiers.")
        {
            RunVerb.Create(),
            ValidateVerb.Create(),
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

            return parse.Invoke();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the simulator, not bad input: one line, no stack trace, a distinct exit code.
            Console.Error.WriteLine($"hypervisor: internal error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
