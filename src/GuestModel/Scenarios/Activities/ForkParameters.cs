namespace Hypervisor.GuestModel.Scenarios.Activities;

/// <summary>Parameters of <c>fork</c>: the guest's VMM process forks a child that writes and then exits.</summary>
/// <param name="ChildLifetime">How long the child lives before it exits.</param>
/// <param name="ChildWrites">How many writes the child makes to guest memory while it lives (each breaks COW).</param>
public sealed record ForkParameters(TimeSpan ChildLifetime, int ChildWrites) : ActivityParameters
{
    /// <summary>Default of <see cref="ChildLifetime"/>.</summary>
    public static readonly TimeSpan DefaultChildLifetime = TimeSpan.FromSeconds(1);

    /// <summary>Default of <see cref="ChildWrites"/>.</summary>
    public const int DefaultChildWrites = 1000;
}
