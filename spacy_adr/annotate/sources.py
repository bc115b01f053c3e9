"""Opening an input file as a stream of bytes: compression recognised by its magic bytes, a
byte order mark dropped, and every failure of the file itself turned into an `InputFailure`
that names the file and the byte.

gzip, bzip2 and xz are decompressed whatever the file is called (a gzip file named `.jsonl` is
read as gzip); a file named `.gz`, `.bz2` or `.xz` that is not that is refused, and so are
zstd and zip files, which annotate does not read. Concatenated streams (`cat a.gz b.gz`) and
zero padding after the last one are read as the `gzip` tool reads them; anything else after
the end of the compressed data, data that ends before its end-of-stream marker (a truncated
download) and corrupt data stop the reading with the compressed byte where it happened.

A corrupt compressed stream is mostly seen only by its checksum, at the end of the stream (a
gzip member, an xz stream): a flipped bit in the middle of a gzip member decompresses to wrong
text without any error until the member's CRC-32, which cannot tell where in the member the
damage is; where the decompressor itself finds the data invalid, the message also names the
few KiB of compressed bytes where it did (the damage is there or before). So `check_input`
decompresses a compressed file once before anything is annotated, and `annotate` stops at
once on what it finds; `track_reads` lets the annotating pass show progress in bytes of the
file instead of counting its records in another pass. A plain file is read once.

Lines end at `\\n` only: a bare `\\r` is part of the line, as it is part of a JSON value or a
tweet.
"""
import bz2
import contextlib
import contextvars
import io
import lzma
import re
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Tuple, Union

from ..errors import InputError

_READ_BLOCK = 1 << 16
# Compressed bytes given to a decompressor at a time: where it finds the data invalid is told
# to within this many bytes (the cost, a call per 4 KiB, is nothing beside annotating).
_FEED_BLOCK = 1 << 12
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Magic bytes; the bzip2 one includes the block (or end-of-stream) magic after the level, so
# that a text starting with "BZh9" is not taken for bzip2.
_MAGIC = (
    (re.compile(rb"\x1f\x8b\x08"), "gzip"),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd"),
    (re.compile(rb"PK\x03\x04"), "zip"),
)
_READABLE = {"gzip", "bzip2", "xz"}
_STREAM_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


class InputFailure(InputError):
    """The file cannot be read on from some point (damaged data, a read error).

    path (Union[str, Path]): The file.
    problem (str): What is wrong, with the byte where it happened.
    line (int): The line the reader was about to read (0: unknown yet).
    records (int): Records read before the failure.
    """

    def __init__(self, path: Union[str, Path], problem: str, *, line: int = 0, records: int = 0) -> None:
        self.records = records
        super().__init__(path, line, problem if not line else f"{problem} (after {records:,} records)")
        self.bare_problem = problem

    # What to do when the damage stops a run before anything was annotated (a run with
    # committed chunks says it through `AnnotateStopped.rerun`).
    rerun = "Nothing was annotated: repair or replace the file (download it again), then rerun the same command."

    def located(self, *, line: int, records: int) -> "InputFailure":
        """The same failure with the line and record count where the reader stopped."""
        return InputFailure(self.path, self.bare_problem, line=line, records=records)


def sniff_compression(path: Union[str, Path]) -> Optional[str]:
    """The compression a file's first bytes show: "gzip", "bzip2", "xz", "zstd", "zip" or None.

    path (Union[str, Path]): The file.
    RETURNS (Optional[str]): The compression, None for anything else.
    """
    with open(path, "rb") as file:
        head = file.read(10)
    for pattern, name in _MAGIC:
        if pattern.match(head):
            return name
    return None


def open_input(path: Union[str, Path]) -> BinaryIO:
    """Open an input for reading its (decompressed) bytes, after a UTF-8 byte order mark.

    path (Union[str, Path]): The file.
    RETURNS (BinaryIO): A buffered stream; its reads raise `InputFailure` where the file is
        damaged or cannot be read.
    """
    path = Path(path)
    try:
        compression = sniff_compression(path)
        raw = open(path, "rb")
    except OSError as err:
        raise InputError(path, 0, f"cannot read the file: {err.strerror or err}") from err
    named = COMPRESSION_SUFFIXES.get(path.suffix.lower())
    if named is not None and named != compression:
        head = raw.read(4)
        raw.close()
        if not head:
            raise InputError(path, 0, f"the file is empty (0 bytes), so not {named} data as its name says: write the dump again, or rename it")
        raise InputError(
            path, 0, f"named {path.suffix} but not {named} data (its first bytes are {head.hex(' ')}, "
            f"{compression or 'not compressed'}); rename or recompress it"
        )
    if compression is not None and compression not in _READABLE:
        raw.close()
        raise InputError(
            path, 0, f"{compression} data (from its first bytes): annotate reads plain text, "
            "gzip, bzip2 or xz; decompress it first"
        )
    stream = io.BufferedReader(_ByteSource(raw, path, compression), buffer_size=_READ_BLOCK)
    head = stream.peek(3)[:3]
    if head.startswith(_UTF16_BOMS):
        stream.close()
        raise InputError(
            path, 1, f"UTF-16 text (byte order mark {head[:2].hex(' ')}): annotate reads UTF-8; "
            "convert it first (iconv -f UTF-16 -t UTF-8)"
        )
    if head == _UTF8_BOM:
        stream.read(3)
    return stream  # type: ignore[return-value]


def iter_lines(stream: BinaryIO, *, limit: int) -> Iterator[Tuple[int, Optional[bytes], int]]:
    """The lines of a byte stream, each ending at `\\n`, without holding an over-long one.

    stream (BinaryIO): From `open_input`.
    limit (int): Lines longer than this many bytes are skipped, not read into memory.
    YIELDS (Tuple[int, Optional[bytes], int]): (1-based line number, the line with its line
        end or None when over `limit`, its length in bytes).
    """
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or line.endswith(b"\n"):
            yield number, line, len(line)
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(_READ_BLOCK)
            if not line:
                break
            size += len(line)
        yield number, None, size


class ReadCounter:
    """Bytes read so far from the file (compressed bytes for a compressed one), for progress.

    bytes (int): The count.
    """

    def __init__(self) -> None:
        self.bytes = 0


# Set by `track_reads`: a file opened in its context counts what it reads here.
_READ_COUNTER: contextvars.ContextVar[Optional[ReadCounter]] = contextvars.ContextVar(
    "spacy_adr_read_counter", default=None
)


@contextlib.contextmanager
def track_reads() -> Iterator[ReadCounter]:
    """Count the bytes read from the files that `open_input` opens inside the `with` block
    (also when a generator opening one is first advanced there); each keeps counting after it.

    YIELDS (ReadCounter): The counter.
    """
    counter = ReadCounter()
    token = _READ_COUNTER.set(counter)
    try:
        yield counter
    finally:
        _READ_COUNTER.reset(token)


def check_input(path: Union[str, Path], *, on_read: Optional[Callable[[int], None]] = None) -> None:
    """Read a compressed file to its end to check it, so that damage stops a run before it
    annotates anything (see the module's docstring). A plain file has nothing to check and is
    not read.

    path (Union[str, Path]): The file.
    on_read (Optional[Callable[[int], None]]): Called with the compressed bytes read so far,
        for a progress bar.
    RAISES (InputError): The file cannot be opened; an `InputFailure` naming the compressed
        bytes where it is damaged.
    """
    if sniff_compression(path) is None:
        return
    with track_reads() as counter, open_input(path) as file:
        while file.read(1 << 20):
            if on_read is not None:
                on_read(counter.bytes)


class _ByteSource(io.RawIOBase):
    """The bytes of a file, decompressed when `compression` is set; failures name the byte."""

    def __init__(self, raw: BinaryIO, path: Path, compression: Optional[str]) -> None:
        self._raw = raw
        self._path = path
        self._compression = compression
        self._read_bytes = 0  # compressed bytes read from the file
        self._pending = b""  # read from the file, not yet given to a decompressor
        self._decompressor: Optional[_Decompressor] = None
        self._streams = 0  # compressed streams (gzip members) read to their end
        self._stream_start = 0
        self._stream_output = 0
        self._stream_magic = True
        # Where the compressed bytes the decompressor still holds start (its last feed).
        self._feed_start = 0
        self._counter = _READ_COUNTER.get()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read_plain(len(buffer)) if self._compression is None else self._decompress(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_file(self, size: int) -> bytes:
        try:
            data = self._raw.read(size)
        except OSError as err:
            raise InputFailure(self._path, f"read error at byte {self._read_bytes:,}: {err.strerror or err}") from err
        self._read_bytes += len(data)
        if self._counter is not None:
            self._counter.bytes += len(data)
        return data

    def _read_plain(self, size: int) -> bytes:
        return self._read_file(size)

    def _decompress(self, size: int) -> bytes:
        while True:
            if self._decompressor is None:
                # Between two compressed streams: zero padding is skipped, as gzip does.
                self._pending = self._pending.lstrip(b"\0")
                while not self._pending:
                    block = self._read_file(_FEED_BLOCK)
                    if not block:
                        return b""
                    self._pending = block.lstrip(b"\0")
                self._decompressor = _Decompressor(self._compression)  # type: ignore[arg-type]
                self._stream_start = self._read_bytes - len(self._pending)
                self._stream_output = 0
                magic = _STREAM_MAGIC[self._compression]  # type: ignore[index]
                self._stream_magic = self._pending[: len(magic)] == magic[: len(self._pending)]
            decompressor = self._decompressor
            data = b""
            if decompressor.needs_input:
                data = self._pending or self._read_file(_FEED_BLOCK)
                self._pending = b""
                if not data:
                    raise self._failure(
                        f"the file ends at byte {self._read_bytes:,} inside {self._compression} data "
                        "(truncated?)"
                    )
                # It needs input only once it holds none: all it may read next is `data`,
                # which ends at the last byte read.
                self._feed_start = self._read_bytes - len(data)
            try:
                output = decompressor.decompress(data, size)
            except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as err:
                raise self._failure(self._corruption(err)) from err
            self._stream_output += len(output)
            if decompressor.eof:
                self._pending = decompressor.unused_data
                self._decompressor = None
                self._streams += 1
            if output:
                return output

    @property
    def _stream_name(self) -> str:
        return "member" if self._compression == "gzip" else "stream"

    def _corruption(self, err: Exception) -> str:
        """Where the damage the decompressor raised `err` on can be: from the start of its
        stream (gzip member) to where it was seen, and where that was."""
        damaged = (
            f"corrupt {self._compression} data in compressed bytes {self._stream_start:,} to "
            f"{self._read_bytes:,}"
        )
        name = self._stream_name
        if "check" in str(err).lower() or "crc" in str(err).lower():
            # Wrong data that decompresses without error (a changed literal) shows only here.
            return (
                f"{damaged} (the damaged {name}: its checksum, at its end, found it, which cannot "
                f"tell where in the {name} the damage is; {err})"
            )
        # A changed bit can decompress to other valid-looking data for a while before the
        # decompressor meets what cannot be: the damage is where it failed or before.
        return (
            f"{damaged} (the damaged {name}, from its start; the decompressor found it invalid in "
            f"compressed bytes {self._feed_start:,} to {self._read_bytes:,}, so the damage is there "
            f"or before; {err})"
        )

    def _failure(self, problem: str) -> InputFailure:
        if self._streams and not self._stream_output and not self._stream_magic:
            # What follows a complete stream is not another one (a damaged one starts with
            # the magic bytes).
            problem = (
                f"unexpected bytes after the end of the {self._compression} data, from byte "
                f"{self._stream_start:,} (trailing garbage)"
            )
        return InputFailure(self._path, problem)


class _Decompressor:
    """zlib's, bzip2's and xz's incremental decompressors behind one interface."""

    def __init__(self, compression: str) -> None:
        self._zlib = compression == "gzip"
        if compression == "gzip":
            self._object = zlib.decompressobj(wbits=31)
        elif compression == "bzip2":
            self._object = bz2.BZ2Decompressor()
        else:
            self._object = lzma.LZMADecompressor()

    @property
    def needs_input(self) -> bool:
        if self._zlib:
            return not self._object.unconsumed_tail
        return self._object.needs_input

    @property
    def eof(self) -> bool:
        return self._object.eof

    @property
    def unused_data(self) -> bytes:
        return self._object.unused_data

    def decompress(self, data: bytes, size: int) -> bytes:
        if self._zlib:
            return self._object.decompress(self._object.unconsumed_tail + data, size)
        return self._object.decompress(data, size)
