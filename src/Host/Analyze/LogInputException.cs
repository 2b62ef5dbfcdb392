namespace Hypervisor.Host.Analyze;

/// <summary>
/// Bad input to <c>analyze</c> (a missing file, no events, a malformed filter): its message is the one line the verb
/// prints after <c>analyze: </c>, with exit code 2.
/// </summary>
internal sealed class LogInputException : Exception
{
    public LogInputException()
    {
    }

    public LogInputException(string message)
        : base(message)
    {
    }

    public LogInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
