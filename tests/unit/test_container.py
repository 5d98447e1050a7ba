"""The .aec container: round trips, versions and every class of FormatError message."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest

from aecodec.container import (
    HEADER_DICTIONARY,
    MAGIC,
    MAJOR,
    MAX_HEADER_BYTES,
    MAX_STREAMS,
    MIN_FILE_BYTES,
    MINOR,
    Container,
    pack,
    read_header,
    unpack,
)
from aecodec.container.format import deflate_header
from aecodec.errors import FormatError, InputError

HEADER = {"media": "image", "model": {"name": "image-hyperprior", "sha256": "0123456789abcdef"}}
STREAMS = [b"z-stream", b"", b"y" * 300]


def build(header: object, streams: list[bytes], *, major: int = MAJOR, minor: int = MINOR,
          count: int | None = None, raw_header: bytes | None = None, tail: bytes = b"",
          deflated: bool = True) -> bytes:
    """Write a file by hand, bypassing pack's checks, with a correct checksum. The header (JSON
    text, or ``raw_header``) is deflated as format 2 stores it; ``deflated=False`` stores it as is."""
    header_bytes = raw_header if raw_header is not None else json.dumps(header).encode()
    if major >= 2 and deflated:
        header_bytes = deflate_header(header_bytes)
    body = MAGIC + struct.pack("<BBI", major, minor, len(header_bytes)) + header_bytes
    body += struct.pack("<I", len(streams) if count is None else count)
    for stream in streams:
        body += struct.pack("<Q", len(stream)) + stream
    body += tail
    return body + struct.pack("<I", zlib.crc32(body))


def header_with(**changes: object) -> dict:
    return {**HEADER, "streams": len(STREAMS), **changes}


def error_of(data: bytes) -> str:
    with pytest.raises(FormatError) as info:
        unpack(data)
    message = str(info.value)
    assert "; " in message and "\n" not in message  # what is wrong; what to do
    return message


# Round trips and what pack writes.


def test_round_trip_keeps_header_and_streams() -> None:
    container = unpack(pack(HEADER, STREAMS))
    assert container == Container(header={**HEADER, "streams": 3}, streams=tuple(STREAMS))


def test_pack_accepts_any_bytes_like_and_no_streams() -> None:
    assert unpack(pack(HEADER, [bytearray(b"ab"), memoryview(b"cd")])).streams == (b"ab", b"cd")
    assert unpack(pack(HEADER, [])).streams == ()


def test_pack_sets_streams_in_a_copy() -> None:
    header = {**HEADER, "streams": 99}
    assert unpack(pack(header, STREAMS)).header["streams"] == 3
    assert header["streams"] == 99


def test_pack_writes_the_documented_prefix() -> None:
    data = pack(HEADER, STREAMS)
    assert data[:4] == MAGIC == b"AEC\x1a"
    assert (data[4], data[5]) == (MAJOR, MINOR) == (2, 4)
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


def test_pack_is_deterministic_whatever_the_key_order() -> None:
    reordered = {"model": HEADER["model"], "media": "image"}
    assert pack(HEADER, STREAMS) == pack(reordered, STREAMS)


def test_unpack_accepts_bytearray_and_memoryview() -> None:
    data = pack(HEADER, STREAMS)
    assert unpack(bytearray(data)) == unpack(memoryview(data)) == unpack(data)


@pytest.mark.parametrize(
    "header, stream_count",
    [
        ({"media": "video", "model": HEADER["model"]}, 0),
        ({"media": "image"}, 0),
        ({"media": "image", "model": {"name": "m", "sha256": "ABCDEF0123456789"}}, 0),
        ({"media": "image", "model": {"name": "", "sha256": "0123456789abcdef"}}, 0),
        ({**HEADER, "quality": float("nan")}, 0),
        (HEADER, MAX_STREAMS + 1),
    ],
)
def test_pack_refuses_what_unpack_would_refuse(header: dict, stream_count: int) -> None:
    with pytest.raises(ValueError):
        pack(header, [b""] * stream_count)


def test_pack_refuses_an_oversized_header_and_non_bytes_streams() -> None:
    with pytest.raises(ValueError, match="header is"):
        pack({**HEADER, "notes": "x" * MAX_HEADER_BYTES}, [])
    with pytest.raises(TypeError):
        pack(HEADER, ["text"])  # type: ignore[list-item]


# Versions and unknown keys.


def test_any_minor_version_of_majors_1_and_2_is_read() -> None:
    for major in (1, 2):
        data = build(header_with(), STREAMS, major=major, minor=7)
        assert unpack(data) == Container(header_with(), tuple(STREAMS))


def test_format_2_deflates_the_header_with_the_preset_dictionary() -> None:
    header = {"geometry": {"channels": 3, "height": 512, "mode": "RGB", "width": 768}, "media": "image",
              "model": {"name": "image-hyperprior", "sha256": "e21b0abdd99bd0ed"}, "quality": 75.0,
              "tiles": {"size": 0}, "y_group_channels": 128}
    data = pack(header, [b"z", b"y"])
    text = json.dumps({**header, "streams": 2}, sort_keys=True, separators=(",", ":")).encode()
    stored = struct.unpack_from("<I", data, 6)[0]
    assert stored <= 40 < len(text) == 214  # the usual image header: 214 bytes of JSON
    assert zlib.decompressobj(-15, zdict=HEADER_DICTIONARY).decompress(data[10 : 10 + stored]) == text


@pytest.mark.parametrize(
    "header_bytes, words",
    [
        (b"\xff\xff\xff", "not valid DEFLATE"),
        (json.dumps(header_with()).encode(), "not valid DEFLATE"),  # a format-1 header in a format-2 file
        (deflate_header(json.dumps(header_with()).encode())[:-3], "cut short"),
        (deflate_header(json.dumps(header_with()).encode()) + b"x", "followed by other bytes"),
        (deflate_header(b" " * (MAX_HEADER_BYTES + 1)), "inflates to over"),
    ],
)
def test_bad_deflated_headers_are_refused(header_bytes: bytes, words: str) -> None:
    assert words in error_of(build(None, STREAMS, raw_header=header_bytes, deflated=False))


def test_unknown_header_keys_are_kept_and_ignored() -> None:
    header = header_with(future_key={"anything": [1, 2]}, quality=40.5)
    assert unpack(build(header, STREAMS)).header == header


def test_newer_major_is_refused_with_an_upgrade_hint() -> None:
    # Checked before the checksum: a future format may checksum differently.
    data = bytearray(build(header_with(), STREAMS, major=3, minor=1))
    data[-1] ^= 0xFF
    message = error_of(bytes(data))
    assert "newer aecodec (format 3.1" in message and "upgrade aecodec" in message


def test_major_0_is_unknown() -> None:
    assert "unknown .aec format 0.0" in error_of(build(header_with(), STREAMS, major=0, minor=0))


# Each class of error message.


@pytest.mark.parametrize("data", [b"", b"AB", b"PNG\x89 and then some bytes", b"\x00" * 100])
def test_foreign_bytes_are_not_an_aec_file(data: bytes) -> None:
    assert error_of(data).startswith("not an .aec file")


@pytest.mark.parametrize("size", [1, 4, MIN_FILE_BYTES - 1])
def test_a_short_file_with_the_magic_is_truncated(size: int) -> None:
    message = error_of(pack(HEADER, STREAMS)[:size])
    assert f"truncated: {size} byte" in message and f"at least {MIN_FILE_BYTES}" in message


def test_a_flipped_bit_is_a_checksum_mismatch() -> None:
    data = bytearray(pack(HEADER, STREAMS))
    data[-10] ^= 0x01
    assert error_of(bytes(data)) == (
        "the file is damaged: checksum mismatch; re-encode from the original or restore a good copy"
    )


def test_a_cut_short_file_names_the_stream_that_is_missing_bytes() -> None:
    data = pack(HEADER, [b"a" * 100, b"b" * 5120, b"c"])
    cut = data[: data.index(b"b" * 812) + 812]
    assert error_of(cut) == (
        "the file is truncated: stream 2 of 3 needs 5120 bytes, 812 left; "
        "copy the complete file again or re-encode from the original"
    )


def test_a_file_cut_inside_the_checksum_is_truncated() -> None:
    assert "the checksum needs 4 bytes, 2 left" in error_of(pack(HEADER, STREAMS)[:-2])


def test_bytes_appended_to_a_good_file_are_named() -> None:
    message = error_of(pack(HEADER, STREAMS) + b"abc")
    assert "has 3 bytes of unexpected data after its end" in message


def test_header_length_over_the_cap() -> None:
    data = build(header_with(), [], raw_header=b" " * (MAX_HEADER_BYTES + 1), count=0, deflated=False)
    assert f"over the {MAX_HEADER_BYTES}-byte limit" in error_of(data)


def test_stream_count_over_the_cap() -> None:
    data = build(header_with(), [], count=MAX_STREAMS + 1)
    assert f"over the {MAX_STREAMS} limit" in error_of(data)


def test_lengths_are_checked_even_when_the_checksum_matches() -> None:
    message = error_of(build(header_with(), [], count=2))
    assert "truncated: the length of stream 1 of 2 needs 8 bytes, 0 left" in message


def test_bytes_between_the_last_stream_and_the_checksum_are_refused() -> None:
    data = build(header_with(), STREAMS, tail=b"!")
    assert "unexpected data after the streams" in error_of(data)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"media": "image", "media": "audio"}', "a key appears twice"),
        (b'{"quality": NaN}', "NaN is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"9" * 5000, "not valid JSON"),  # beyond Python's int-from-str digit limit
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_malformed_headers(raw: bytes, expected: str) -> None:
    assert expected in error_of(build(None, STREAMS, raw_header=raw))


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"media": "text"}, "\"media\" is 'text'"),
        ({"media": "x" * 1000}, "'" + "x" * 36 + "..., expected"),  # long values are cut
        ({"model": "image-hyperprior"}, '"model" is missing or not an object'),
        ({"model": {"sha256": "0123456789abcdef"}}, '"model.name"'),
        ({"model": {"name": "m", "sha256": "0123"}}, '"model.sha256"'),
        ({"model": {"name": "m", "sha256": 12345}}, '"model.sha256"'),
        ({"streams": True}, '"streams" is not a count'),
        ({"streams": "3"}, '"streams" is not a count'),
        ({"streams": 4}, "lists 4 streams but the file holds 3"),
    ],
)
def test_header_keys_are_validated(changes: dict, expected: str) -> None:
    assert expected in error_of(build(header_with(**changes), STREAMS))


@pytest.mark.parametrize("name", ["m\x1b]0;owned\x07", "\ud800", "a\nb", "\u202eevil", "x" * 101, "\x9b2J"])
def test_model_names_that_could_drive_a_terminal_are_refused(name: str) -> None:
    message = error_of(build(header_with(model={"name": name, "sha256": "0123456789abcdef"}), STREAMS))
    assert '"model.name"' in message and "is not a model name" in message
    assert message.isascii() and message.isprintable(), message  # the name comes out escaped
    with pytest.raises(ValueError, match="model.name"):
        pack({**HEADER, "model": {"name": name, "sha256": "0123456789abcdef"}}, [])


def test_the_most_streams_the_format_allows_read_back_quickly() -> None:
    import time

    streams = [bytes([i % 251]) * (i % 7) for i in range(MAX_STREAMS)]
    data = pack(HEADER, streams)
    start = time.perf_counter()
    assert unpack(data).streams == tuple(streams)
    assert time.perf_counter() - start < 2.0  # typically 0.1 s: no work per stream beyond reading it
    assert "truncated: the length of stream 65536 of 65536 needs 8 bytes" in error_of(build(header_with(), streams)[:-8])


def test_a_missing_required_key_is_refused() -> None:
    header = header_with()
    del header["media"]
    assert '"media" is None' in error_of(build(header, STREAMS))


# read_header.


def test_read_header_from_path_and_bytes(tmp_path) -> None:
    data = pack(HEADER, STREAMS)
    path = tmp_path / "a.aec"
    path.write_bytes(data)
    assert read_header(path) == read_header(str(path)) == read_header(data) == header_with()


def test_read_header_verifies_the_checksum(tmp_path) -> None:
    path = tmp_path / "a.aec"
    path.write_bytes(pack(HEADER, STREAMS)[:-1] + b"\x00")
    with pytest.raises(FormatError, match="damaged|truncated"):
        read_header(path)


def test_read_header_of_a_missing_file_or_a_folder_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="cannot read .*missing.aec': no such file"):
        read_header(tmp_path / "missing.aec")
    with pytest.raises(InputError, match="is a directory"):
        read_header(tmp_path)


def test_importing_the_container_imports_neither_numpy_nor_torch() -> None:
    code = "import sys, aecodec.container; print('numpy' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
