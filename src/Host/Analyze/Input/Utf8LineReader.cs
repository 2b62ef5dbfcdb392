using System.Buffers;
using System.Runtime.CompilerServices;

namespace Hypervisor.Host.Analyze.Input;

/// <summary>
/// Splits a stream into lines of UTF-8 bytes without decoding them. Memory is bounded by the longest line (and by
/// <see cref="MaxLineBytes"/>): a multi-gigabyte log streams through one pooled buffer.
/// </summary>
internal sealed class Utf8LineReader : IDisposable
{
    /// <summary>Lines longer than this are skipped (reported as <see cref="LineStatus.Oversized"/>), so a file without newlines cannot exhaust memory.</summary>
    public const int MaxLineBytes = 16 << 20;

    private const int InitialBufferBytes = 1 << 20;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;   // first byte not yet returned
    private int _scanned; // bytes from _start already known to hold no newline
    private int _end;     // one past the last byte read from the stream
    private bool _eof;

    public Utf8LineReader(Stream stream)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
    }

    /// <summary>The 1-based number of the line returned last.</summary>
    public long LineNumber { get; private set; }

    /// <summary>
    /// Reads the next line, without its <c>\n</c> or <c>\r\n</c>. The returned memory is valid until the next call.
    /// Returns <see cref="LineStatus.EndOfStream"/> when nothing is left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LineStatus ReadLine(out ReadOnlyMemory<byte> line)
    {
        var skipping = false;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = _scanned + newline;
                var next = _start + length + 1;
                if (length > 0 && _buffer[_start + length - 1] == (byte)'\r')
                {
                    length--;
                }

                line = skipping ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(_start, length);
                _start = next;
                _scanned = 0;
                LineNumber++;
                return skipping ? LineStatus.Oversized : LineStatus.Complete;
            }

            _scanned = _end - _start;
            if (_eof)
            {
                line = skipping ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(_start, _end - _start);
                var had = skipping || _end > _start;
                _start = _end;
                _scanned = 0;
                if (!had)
                {
                    return LineStatus.EndOfStream;
                }

                LineNumber++;
                return skipping ? LineStatus.Oversized : LineStatus.Unterminated;
            }

            if (_scanned >= MaxLineBytes)
            {
                // Drop what was read of the giant line and keep scanning for its end.
                skipping = true;
                _start = _end;
                _scanned = 0;
            }

            Fill();
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Fill()
    {
        var pending = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _start = 0;
            _end = pending;
        }

        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }
}
