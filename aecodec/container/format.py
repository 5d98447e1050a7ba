"""Reading and writing the `.aec` container, format 2 (and reading format 1), specified in
docs/FORMAT.md.

Layout, all integers little-endian::

    magic "AEC\\x1a" | u8 major | u8 minor | u32 header length | header
    | u32 stream count | (u64 length, bytes) per stream | u32 CRC32 of everything before it

The header is a JSON object: in format 2 deflated with a preset dictionary of the usual keys
(214 bytes of JSON become about 28), in format 1 as plain text. Since format 2.1 it may carry an
image's ICC profile, EXIF and XMP (``metadata``, container/metadata.py), since 2.2 an image's
residual layer (``residual``, codecs/image_residual.py).

Pure stdlib on purpose: `aecodec info` reads headers without importing numpy or torch.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Mapping, NoReturn, Sequence, Union

from aecodec.container.metadata import decode_metadata, encode_metadata
from aecodec.errors import FormatError, InputError

MAGIC = b"AEC\x1a"
MAJOR = 2
MINOR = 4  # 2.1 added the optional "metadata" key (2.0 readers ignore it); 2.2 the image "residual" layer;
# 2.3 the MDCT audio "fine_step" key; 2.4 adaptive MDCT coefficient tables (a model card's adapt_every)
MAX_HEADER_BYTES = 1 << 20  # of JSON text, and of the stored (deflated) header
# Format 2's preset DEFLATE dictionary: typical audio then image headers (the most frequent
# strings last, nearest to the data). Part of the format: it never changes within major 2.
HEADER_DICTIONARY = (
    b'{"channel_coding":"mono","channels":1,"chunking":{"frames":240000,"overlap":4800},'
    b'"dc_offset":[0.0],"envelope":{"bands":32,"hop":480,"n_fft":1024,"quality":50.0,"step":0.4},'
    b'"frames":192000,"media":"audio","model":{"name":"audio-conv-lstm","sha256":"0123456789abcdef"},'
    b'"quality":50.0,"sample_rate":24000,"side_quality":50.0,"silence":[],"streams":2}'
    b'{"geometry":{"channels":3,"height":512,"mode":"RGB","width":768},"media":"image",'
    b'"model":{"name":"image-hyperprior","sha256":"0123456789abcdef"},"quality":50.0,"streams":2,'
    b'"tiles":{"size":0},"y_group_channels":128}'
)
MAX_STREAMS = 65536
MAX_NAME_CHARS = 100  # of "model.name"
MEDIA_KINDS = ("image", "audio")

_PREFIX = struct.Struct("<4sBBI")  # magic, major, minor, header length
_COUNT = struct.Struct("<I")
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
# The smallest structurally complete file: prefix, empty header, no streams, CRC.
MIN_FILE_BYTES = _PREFIX.size + _COUNT.size + _CRC.size

_HEX = re.compile(r"[0-9a-f]{16,64}")
_DAMAGED = "re-encode from the original or restore a good copy"
_INCOMPLETE = "copy the complete file again or re-encode from the original"
_FOREIGN = "it was not written by a compatible aecodec; re-encode from the original"

BytesLike = Union[bytes, bytearray, memoryview]


@dataclass(frozen=True)
class Container:
    """A parsed `.aec` file: its JSON header and its payload streams, in file order.

    ``header`` always holds the validated common keys ``media``, ``model`` and ``streams``
    (``streams == len(self.streams)``) plus whatever keys the codec wrote, except ``metadata``:
    that is checked and decoded into ``metadata`` (``"icc_profile"``, ``"exif"``, ``"xmp"`` ->
    bytes, the items the file holds).
    """

    header: dict[str, Any]
    streams: tuple[bytes, ...]
    metadata: dict[str, bytes] = field(default_factory=dict)


def pack(header: dict[str, Any], streams: Sequence[BytesLike],
         metadata: Mapping[str, bytes] | None = None) -> bytes:
    """Serialise a header, payload streams and optional metadata (``"icc_profile"``, ``"exif"``,
    ``"xmp"`` -> bytes) into `.aec` bytes (format MAJOR.MINOR).

    ``header["streams"]`` is set to ``len(streams)`` in a copy; the caller's dict is untouched.

    Raises:
        ValueError, TypeError: the header is not one ``unpack`` would accept, a metadata item is
            over its cap or malformed (``metadata_problem``), or a stream is not bytes. These
            are bugs in the calling codec, not user errors.
    """
    if "metadata" in header:
        raise ValueError('pass metadata with pack(..., metadata=), not as a header key')
    if metadata:
        header = {**header, "metadata": encode_metadata(metadata)}
    streams = list(streams)
    for stream in streams:
        if not isinstance(stream, (bytes, bytearray, memoryview)):
            raise TypeError(f"streams must be bytes, got {type(stream).__name__}")
    if len(streams) > MAX_STREAMS:
        raise ValueError(f"{len(streams)} streams, the format allows {MAX_STREAMS}")
    header = {**header, "streams": len(streams)}
    problem = _header_problem(header)
    if problem:
        raise ValueError(f"invalid .aec header: {problem}")
    # ASCII keeps any str (even lone surrogates) encodable; sorted keys make output stable.
    text = json.dumps(
        header, ensure_ascii=True, allow_nan=False, sort_keys=True, separators=(",", ":")
    ).encode("ascii")
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"header is {len(text)} bytes, the limit is {MAX_HEADER_BYTES}")
    header_bytes = deflate_header(text)
    if len(header_bytes) > MAX_HEADER_BYTES:  # deflate can grow incompressible text a little
        raise ValueError(f"header is {len(header_bytes)} bytes deflated, the limit is {MAX_HEADER_BYTES}")
    parts = [_PREFIX.pack(MAGIC, MAJOR, MINOR, len(header_bytes)), header_bytes]
    parts.append(_COUNT.pack(len(streams)))
    for stream in streams:
        parts += [_LENGTH.pack(memoryview(stream).nbytes), stream]
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: BytesLike) -> Container:
    """Parse and validate `.aec` bytes.

    Accepts any minor version of major versions 1 and 2 and ignores header keys it does not know.

    Raises:
        FormatError: the bytes are not a complete, undamaged `.aec` file this aecodec can
            read; the message says what is wrong and what to do.
    """
    view = memoryview(data).cast("B")
    _check_start(view)
    body_end = len(view) - _CRC.size
    (stored_crc,) = _CRC.unpack_from(view, body_end)
    if zlib.crc32(view[:body_end]) != stored_crc:
        _explain_damage(view)
    try:
        layout = _Layout(view, body_end)
    except _Truncated as exc:
        raise FormatError(f"the file is truncated: {exc}; " + _INCOMPLETE) from None
    if layout.end != body_end:
        extra = _nbytes(body_end - layout.end)
        raise FormatError(f"the file has {extra} of unexpected data after the streams; " + _FOREIGN)
    header = _decode_header(layout.header, major=view[4])
    metadata, problem = decode_metadata(header.pop("metadata", {}))
    if problem:
        raise FormatError(f"the header's metadata is invalid: {problem}; " + _FOREIGN)
    if header["streams"] != len(layout.streams):
        raise FormatError(
            f"the header lists {header['streams']} streams but the file holds "
            f"{len(layout.streams)}; " + _FOREIGN
        )
    return Container(header=header, streams=tuple(bytes(s) for s in layout.streams), metadata=metadata)


def read_header(source: str | PathLike[str] | BytesLike) -> dict[str, Any]:
    """Return the validated header of an `.aec` file (a path) or of `.aec` bytes.

    The whole file is read so that the checksum is verified too.

    Raises:
        InputError: the file cannot be read (missing, a directory, no permission).
        FormatError: as for ``unpack``.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return unpack(source).header
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or "cannot read it"
        raise InputError(f"cannot read '{path}': {reason.lower()}; check the path") from None
    return unpack(data).header


class _Layout:
    """The spans of an `.aec` file found by following its length fields up to ``limit``.

    Raises FormatError for a length over its cap and _Truncated for one that runs past
    ``limit``; reads nothing but length fields, so it is safe on damaged data.
    """

    def __init__(self, view: memoryview, limit: int) -> None:
        self._view, self._limit, self._at = view, limit, _PREFIX.size
        header_size = _PREFIX.unpack_from(view)[3]
        if header_size > MAX_HEADER_BYTES:
            raise FormatError(
                f"the header claims {_nbytes(header_size)}, over the {MAX_HEADER_BYTES}-byte "
                "limit; " + _DAMAGED
            )
        self.header = self._take(header_size, "the header")
        (count,) = _COUNT.unpack(self._take(_COUNT.size, "the stream count"))
        if count > MAX_STREAMS:
            raise FormatError(
                f"the file claims {count} streams, over the {MAX_STREAMS} limit; " + _DAMAGED
            )
        self.streams: list[memoryview] = []
        at, read_length = self._at, _LENGTH.unpack_from  # a tight loop: files may hold 65536 streams
        for index in range(count):
            if limit - at < _LENGTH.size:
                self._at = at
                self._take(_LENGTH.size, f"the length of stream {index + 1} of {count}")
            (size,) = read_length(view, at)
            at += _LENGTH.size
            if size > limit - at:
                self._at = at
                self._take(size, f"stream {index + 1} of {count}")
            self.streams.append(view[at : at + size])
            at += size
        self.end = self._at = at

    def _take(self, size: int, what: str) -> memoryview:
        left = self._limit - self._at
        if size > left:
            raise _Truncated(f"{what} needs {_nbytes(size)}, {left} left")
        self._at += size
        return self._view[self._at - size : self._at]


class _Truncated(Exception):
    """A length field runs past the end; callers reword it into a FormatError."""


def _check_start(view: memoryview) -> None:
    if len(view) < MIN_FILE_BYTES:
        if len(view) == 0:
            raise FormatError("not an .aec file: it is empty; check the file name")
        if bytes(view[:4]) == MAGIC[: len(view)]:
            raise FormatError(
                f"the file is truncated: {_nbytes(len(view))}, an .aec file has at least "
                f"{MIN_FILE_BYTES}; " + _INCOMPLETE
            )
    if bytes(view[:4]) != MAGIC:
        raise FormatError("not an .aec file (it does not start with AEC); check the file name")
    major, minor = view[4], view[5]
    if major > MAJOR:
        raise FormatError(
            f"the file was made by a newer aecodec (format {major}.{minor}, this aecodec "
            f"reads format {MAJOR}); upgrade aecodec to read it"
        )
    if major < 1:
        raise FormatError(f"unknown .aec format {major}.{minor}; " + _DAMAGED)


def _explain_damage(view: memoryview) -> NoReturn:
    """Raise the most useful FormatError for bytes whose checksum does not match.

    A cut-short download or copy is the usual cause and deserves to be named as such; so do
    bytes appended to a good file. Anything else is reported as a checksum mismatch.
    """
    try:
        layout = _Layout(view, len(view))  # no CRC to skip: a truncated file may have none
    except _Truncated as exc:
        raise FormatError(f"the file is truncated: {exc}; " + _INCOMPLETE) from None
    except FormatError:
        layout = None
    if layout is not None:
        extra = len(view) - layout.end - _CRC.size
        if extra < 0:
            raise FormatError(
                f"the file is truncated: the checksum needs {_CRC.size} bytes, "
                f"{_CRC.size + extra} left; " + _INCOMPLETE
            )
        (crc,) = _CRC.unpack_from(view, layout.end)
        if zlib.crc32(view[: layout.end]) == crc:
            raise FormatError(
                f"the file has {_nbytes(extra)} of unexpected data after its end; "
                "remove the extra data or restore a good copy"
            )
    raise FormatError("the file is damaged: checksum mismatch; " + _DAMAGED)


def deflate_header(text: bytes) -> bytes:
    """Format 2's stored header: raw DEFLATE (RFC 1951) of the JSON text, HEADER_DICTIONARY preset."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, HEADER_DICTIONARY)
    return deflater.compress(text) + deflater.flush()


def _inflate_header(raw: memoryview) -> bytes:
    inflater = zlib.decompressobj(-15, zdict=HEADER_DICTIONARY)
    try:
        text = inflater.decompress(raw, MAX_HEADER_BYTES + 1)  # bounded: no header bombs
    except zlib.error:
        raise FormatError("the header is not valid DEFLATE data; " + _FOREIGN) from None
    if len(text) > MAX_HEADER_BYTES:
        raise FormatError(f"the header inflates to over {MAX_HEADER_BYTES} bytes; " + _FOREIGN)
    if not inflater.eof or inflater.unused_data:
        raise FormatError("the header's DEFLATE data is cut short or followed by other bytes; " + _FOREIGN)
    return text


def _decode_header(raw: memoryview, major: int) -> dict[str, Any]:
    raw = _inflate_header(raw) if major >= 2 else raw
    try:
        text = bytes(raw).decode("utf-8")
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise FormatError("the header is not valid UTF-8; " + _FOREIGN) from None
    except RecursionError:
        raise FormatError("the header is nested too deeply; " + _FOREIGN) from None
    except ValueError as exc:  # JSONDecodeError, duplicate keys, NaN, huge integers
        reason = _first_line(exc)
        raise FormatError(f"the header is not valid JSON ({reason}); " + _FOREIGN) from None
    problem = _header_problem(header)
    if problem:
        raise FormatError(f"the header is invalid: {problem}; " + _FOREIGN)
    return header


def _header_problem(header: object) -> str | None:
    """Describe what is wrong with a header's common keys, or return None."""
    if not isinstance(header, dict):
        return "it is not a JSON object"
    if header.get("media") not in MEDIA_KINDS:
        return f'"media" is {_short(header.get("media"))}, expected "image" or "audio"'
    model = header.get("model")
    if not isinstance(model, dict):
        return '"model" is missing or not an object'
    name = model.get("name")
    if not isinstance(name, str) or not name:
        return '"model.name" is missing or not a string'
    if len(name) > MAX_NAME_CHARS or not name.isprintable():  # it reaches terminals in messages
        return f'"model.name" {_short(name)} is not a model name (printable, at most {MAX_NAME_CHARS} characters)'
    if not isinstance(model.get("sha256"), str) or not _HEX.fullmatch(model["sha256"]):
        return '"model.sha256" is not 16 to 64 lowercase hex digits'
    streams = header.get("streams")
    if type(streams) is not int or not 0 <= streams <= MAX_STREAMS:
        return f'"streams" is not a count from 0 to {MAX_STREAMS}'
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key would make readers disagree on what the file says.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears twice")
    return result


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _nbytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else "unreadable"
