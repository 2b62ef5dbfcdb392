namespace Hypervisor.Host;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("hypervisor: no verbs yet");
        return args.Length == 0 ? 0 : 2;
    }
}
