using System.Collections.Frozen;
using Hypervisor.GuestModel;
using Hypervisor.GuestModel.Running;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Host.Logging;

/// <summary>The kebab-case names of the enums that appear in log events, computed once (the consumer is a hot path).</summary>
internal static class LogNames
{
    private static readonly FrozenDictionary<InvalidationCause, string> Causes =
        Enum.GetValues<InvalidationCause>().ToFrozenDictionary(c => c, c => Names.Kebab(c.ToString()));

    private static readonly FrozenDictionary<NotifierEvent, string> Events =
        Enum.GetValues<NotifierEvent>().ToFrozenDictionary(e => e, e => Names.Kebab(e.ToString()));

    /// <summary><c>copy-on-write</c>, <c>madvise-dont-need</c>, ...</summary>
    public static string Of(InvalidationCause cause) => Causes.TryGetValue(cause, out var name) ? name : Names.Kebab(cause.ToString());

    /// <summary><c>unmap</c>, <c>protection-vma</c>, ...</summary>
    public static string Of(NotifierEvent e) => Events.TryGetValue(e, out var name) ? name : Names.Kebab(e.ToString());

    /// <summary>An address as the log writes it: <c>0x</c> and lower-case hex digits.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}
