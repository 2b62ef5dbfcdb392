using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>One guest access by virtual page, from outside guest mode: enter, access, exit (the shadow tests' step).</summary>
internal static class GuestAccess
{
    public static AccessResult Access(Vcpu vcpu, ulong gvpn, bool write = false, ulong value = 0)
    {
        vcpu.EnterGuest();
        var result = vcpu.AccessVirtual(gvpn, write, value);
        vcpu.ExitGuest();
        return result;
    }

    public static AccessResult Read(Vcpu vcpu, ulong gvpn) => Access(vcpu, gvpn);
}
