namespace Hypervisor.Host.Configuration;

/// <summary>
/// Bad input from a person (a command-line argument, a setting, a scenario file): its message is one line per problem,
/// each naming the file or field and what was expected. Verbs print the message alone, no stack trace, and exit 2.
/// </summary>
internal sealed class BadInputException : Exception
{
    public BadInputException(string message)
        : base(message)
    {
    }

    public BadInputException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public BadInputException()
    {
    }
}
