using System.CommandLine;

namespace Hypervisor.Host.Cli;

/// <summary><c>hypervisor validate FILE...</c>: checks scenario files without running them.</summary>
internal static class ValidateVerb
{
    public static Command Create()
    {
        var files = new Argument<string[]>("file") { Description = "Scenario files to check.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("validate", "Check scenario files without running them.") { files };
        command.SetAction(parse =>
        {
            var paths = parse.GetValue(files) ?? [];
            var loaded = ScenarioFiles.LoadAll(paths, Console.Error);
            if (loaded is null)
            {
                return ExitCodes.BadInput;
            }

            foreach (var (path, scenario) in paths.Zip(loaded))
            {
                Console.WriteLine($"{path}: ok ({scenario.Name}: {scenario.Guests.Count} guests, {scenario.Activities.Count} activities)");
            }

            return ExitCodes.Clean;
        });
        return command;
    }
}
