using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;

namespace Hypervisor.Host.Experiments.Studies;

/// <summary>The single-page call sites of seeds/000 that the invalidate-page-vs-range experiment drives.</summary>
internal enum SinglePageSite
{
    /// <summary><c>do_wp_page</c>: the parent's write to a page it shares with its fork child.</summary>
    CopyOnWrite,

    /// <summary><c>try_to_unmap_one</c>: reclaim swapping anonymous pages out.</summary>
    Reclaim,

    /// <summary><c>page_mkclean_one</c>: writeback write-protecting a shared file mapping's dirty pages.</summary>
    Writeback,
}

/// <summary>Prepares and runs a batch of single-page operations at one <see cref="SinglePageSite"/> on a <see cref="Rig"/>.</summary>
internal static class SinglePageWorkload
{
    public static string Label(SinglePageSite site) => site switch
    {
        SinglePageSite.CopyOnWrite => "copy-on-write (do_wp_page)",
        SinglePageSite.Reclaim => "reclaim (try_to_unmap_one)",
        _ => "writeback (page_mkclean_one)",
    };

    public static string Short(SinglePageSite site) => site switch
    {
        SinglePageSite.CopyOnWrite => "COW",
        SinglePageSite.Reclaim => "reclaim",
        _ => "writeback",
    };

    public static bool FileBacked(SinglePageSite site) => site == SinglePageSite.Writeback;

    /// <summary>
    /// Every page present, dirty and mapped by the guest; for copy-on-write also shared with a fork child (returned,
    /// to be passed to <see cref="Finish"/>).
    /// </summary>
    public static AddressSpace? Prepare(Rig rig, SinglePageSite site, ulong round)
    {
        rig.HostWriteAll(round << 32);
        var child = site == SinglePageSite.CopyOnWrite ? rig.Mm.Fork("child") : null;
        rig.GuestTouchAll();
        return child;
    }

    /// <summary>Runs the batch; returns the number of single-page operations it made.</summary>
    public static long Run(Rig rig, SinglePageSite site, ulong[] order)
    {
        switch (site)
        {
            case SinglePageSite.CopyOnWrite:
                var before = rig.Host.Read(HostCounter.CowFaults);
                foreach (var page in order)
                {
                    if (rig.Mm.HostWrite(rig.At(page), ~page) != HostStatus.Ok)
                    {
                        throw new InvalidOperationException("copy-on-write fault failed");
                    }
                }

                return rig.Host.Read(HostCounter.CowFaults) - before;
            case SinglePageSite.Reclaim:
                return rig.ReclaimPages((long)rig.Pages);
            default:
                return rig.Manager.WritebackPass().MappingsCleaned;
        }
    }

    public static void Finish(AddressSpace? child) => child?.Exit();

    /// <summary>The pages in an order drawn from <paramref name="random"/>.</summary>
    public static ulong[] Shuffled(ulong pages, Random random)
    {
        var order = new ulong[pages];
        for (ulong i = 0; i < pages; i++)
        {
            order[i] = i;
        }

        random.Shuffle(order);
        return order;
    }
}
