using Hypervisor.HostMemory.Locking;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Locking;

[TestFixture]
[CancelAfter(30_000)]
public class RwSemaphoreTests
{
    [Test]
    public void Readers_share_it_and_a_writer_excludes_them()
    {
        var rwsem = new RwSemaphore();
        rwsem.EnterReadLock();
        var second = Task.Run(() =>
        {
            var got = rwsem.TryEnterReadLock(0);
            if (got)
            {
                rwsem.ExitReadLock();
            }

            return got;
        });
        Assert.That(second.Result, Is.True, "a second reader enters beside the first");
        Assert.That(Task.Run(() => TryWrite(rwsem)).Result, Is.False, "a writer cannot enter while a reader holds it");
        rwsem.ExitReadLock();
        Assert.That(Task.Run(() => TryWrite(rwsem)).Result, Is.True, "the writer enters once the readers left");
    }

    [Test]
    public void A_writer_holds_back_readers_and_is_known_as_the_holder()
    {
        var rwsem = new RwSemaphore();
        rwsem.EnterWriteLock();
        Assert.That(rwsem.IsWriteLockHeld, Is.True, "the owner thread is recorded");
        Assert.That(Task.Run(() => rwsem.IsWriteLockHeld).Result, Is.False, "another thread is not the owner");
        Assert.That(Task.Run(() => rwsem.TryEnterReadLock(0)).Result, Is.False, "down_read_trylock fails under a writer");
        rwsem.ExitWriteLock();
        Assert.That(rwsem.IsWriteLockHeld, Is.False);
    }

    [Test]
    public void A_waiting_writer_is_not_starved_by_a_stream_of_readers()
    {
        var rwsem = new RwSemaphore();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                rwsem.EnterReadLock();
                Thread.SpinWait(50);
                rwsem.ExitReadLock();
            }
        })).ToList();
        readers.ForEach(t => t.Start());
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                rwsem.EnterWriteLock();
                rwsem.ExitWriteLock();
            }
        });

        Assert.That(writer.Wait(TimeSpan.FromSeconds(20)), Is.True, "writers wait only for the readers inside, not for later ones");
        stop.Cancel();
        readers.ForEach(t => t.Join());
    }

    [Test]
    public void Readers_and_writers_never_overlap()
    {
        const int Rounds = 200_000;
        var rwsem = new RwSemaphore();
        long value = 0, torn = 0;
        var writers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                rwsem.EnterWriteLock();
                // Two plain increments: a reader inside would see an odd value, a second writer would lose one.
                value++;
                value++;
                rwsem.ExitWriteLock();
            }
        })).ToList();
        var reader = new Thread(() =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                rwsem.EnterReadLock();
                if ((Volatile.Read(ref value) & 1) != 0)
                {
                    torn++;
                }

                rwsem.ExitReadLock();
            }
        });
        writers.ForEach(t => t.Start());
        reader.Start();
        writers.ForEach(t => t.Join());
        reader.Join();

        Assert.That(value, Is.EqualTo(4L * Rounds), "no writer lost an update to another writer");
        Assert.That(torn, Is.Zero, "no reader saw a writer half-way");
    }

    private static bool TryWrite(RwSemaphore rwsem)
    {
        if (!rwsem.TryEnterWriteLock())
        {
            return false;
        }

        rwsem.ExitWriteLock();
        return true;
    }
}
