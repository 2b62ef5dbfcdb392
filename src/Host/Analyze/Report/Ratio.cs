namespace Hypervisor.Host.Analyze.Report;

/// <summary>Division that reports 0 instead of NaN or infinity when there is nothing to divide by.</summary>
internal static class Ratio
{
    public static double Of(double part, double whole) => whole == 0 ? 0 : part / whole;
}
