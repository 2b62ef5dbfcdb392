using Hypervisor.ShadowMmu.Shadow;

namespace Hypervisor.GuestModel.GuestKernel;

/// <summary>Page-table churn: the guest kernel's own changes, drawn at random between the workload's accesses.</summary>
public sealed partial class GuestCpu
{
    /// <summary>
    /// With probability <see cref="GuestKernel.Churn"/>, one page-table event near workload page
    /// <paramref name="page"/>: an alias (an owned page remapped onto another owned frame), an unmap, a protection
    /// flip, the unmap of a whole 2 MiB region (its leaf table freed, the PCID flushed by a CR3 load), a process
    /// switch, or a fork-like copy of the current process.
    /// </summary>
    public void MaybeChurn(long page)
    {
        if (_kernel.Churn <= 0 || (Workloads.SplitMix64.Next(ref _random) >> 11) * (1.0 / (1UL << 53)) >= _kernel.Churn)
        {
            return;
        }

        Events++;
        var owned = OwnedNear(page);
        var roll = NextInt(100);
        if (roll < 30)
        {
            var target = _kernel.TargetOf(OwnedNear(NextInt((int)Math.Min(_kernel.Pages, int.MaxValue))));
            Map(owned, target, Writable(target));
        }
        else if (roll < 45)
        {
            SetLeaf(page, 0);
        }
        else if (roll < 65)
        {
            var walk = Translate(owned, write: false);
            if (walk.Fault == GuestFaultKind.None)
            {
                SetLeaf(owned, Gpte.Make(walk.Gfn, !walk.Writable && Writable(walk.Gfn)));
            }
        }
        else if (roll < 72)
        {
            UnmapRegion(page);
        }
        else if (roll < 92)
        {
            Switch();
        }
        else
        {
            Fork();
        }
    }

    /// <summary>The page nearest <paramref name="page"/> whose frame this vCPU owns (the oracle's writer rule).</summary>
    public long OwnedNear(long page)
    {
        var owned = page - (page % _kernel.Vcpus) + _vcpu.Index;
        return owned < _kernel.Pages ? owned : owned - _kernel.Vcpus;
    }

    /// <summary>Clears the PD entry covering <paramref name="page"/> (an emulated store), frees the leaf table, flushes the PCID.</summary>
    private void UnmapRegion(long page)
    {
        var gvpn = GvpnOf(page);
        var table = Current.Cr3;
        for (var level = Gpte.Levels; level > 2; level--)
        {
            var gpte = _tables.Read(table, Gpte.IndexOf(gvpn, level));
            if (!Gpte.IsPresent(gpte))
            {
                return;
            }

            table = Gpte.GfnOf(gpte);
        }

        var pde = _tables.Read(table, Gpte.IndexOf(gvpn, 2));
        if (!Gpte.IsPresent(pde))
        {
            return;
        }

        _vcpu.WriteGuestPte(table, Gpte.IndexOf(gvpn, 2), 0);
        _vcpu.LoadCr3(Current.Cr3, Current.Pcid); // flush_tlb_mm: the whole range goes
        var leaf = Gpte.GfnOf(pde);
        Current.TableFrames.Remove(leaf);
        _kernel.FreeFrame(leaf);
    }

    /// <summary>Runs another process: an existing one, or a fresh empty one while there is room.</summary>
    private void Switch()
    {
        var next = _processes.Count < MaxProcesses && NextInt(3) == 0 ? NewProcess() : _processes[NextInt(_processes.Count)];
        if (next is null || next == Current)
        {
            return;
        }

        Current = next;
        _vcpu.LoadCr3(next.Cr3, next.Pcid);
    }

    /// <summary>
    /// A fork-like copy: a new process whose tables repeat the current one's (every frame then mapped from two
    /// address spaces), switched to at once. The oldest other process exits first when the vCPU is at its limit.
    /// </summary>
    private void Fork()
    {
        if (_processes.Count >= MaxProcesses && _processes.FirstOrDefault(p => p != Current) is { } oldest)
        {
            Exit(oldest);
        }

        if (NewProcess() is not { } child)
        {
            return;
        }

        CopyTable(Current.Cr3, child.Cr3, Gpte.Levels, child);
        Current = child;
        _vcpu.LoadCr3(child.Cr3, child.Pcid);
    }

    private void CopyTable(ulong from, ulong to, int level, GuestProcess child)
    {
        for (var i = 0; i < Gpte.Entries; i++)
        {
            var gpte = _tables.Read(from, i);
            if (!Gpte.IsPresent(gpte))
            {
                continue;
            }

            if (level == 1)
            {
                _vcpu.WriteGuestPte(to, i, gpte);
                continue;
            }

            if (AllocTable(child) is not { } fresh)
            {
                return; // out of table frames: the rest of the copy demand-faults later
            }

            _vcpu.WriteGuestPte(to, i, Gpte.Make(fresh, Gpte.IsWritable(gpte)));
            CopyTable(Gpte.GfnOf(gpte), fresh, level - 1, child);
        }
    }
}
