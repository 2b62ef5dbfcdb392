namespace Hypervisor.Host.Cli;

/// <summary>Process exit codes shared by every verb.</summary>
internal static class ExitCodes
{
    public const int Clean = 0;
    public const int Violations = 1;
    public const int BadInput = 2;
    public const int Failure = 3;
}
